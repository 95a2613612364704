package processors_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// credit returns the credit of a transfer from Alice to name.
func credit(id, name string, cents int64) wallet.Instruction {
	return wallet.Transfer{RequestID: uuid.MustParse(id), From: "Alice", To: name, Amount: wallet.Cents(cents)}.Instructions()[1]
}

// debit returns the debit of a transfer from name to Bob.
func debit(id, name string, cents int64) wallet.Instruction {
	return wallet.Transfer{RequestID: uuid.MustParse(id), From: name, To: "Bob", Amount: wallet.Cents(cents)}.Instructions()[0]
}

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	week := wallet.DedupeBound{MaxAge: 7 * 24 * time.Hour, MaxCount: 100}
	type step struct {
		p       wallet.Instruction
		at      time.Time
		wantNew bool
	}
	tests := []struct {
		name        string
		bound       wallet.DedupeBound
		steps       []step
		wantBalance string
		wantApplied int
	}{
		{"one payment", week, []step{
			{debit(primerID, "Alice", 50), t0, true},
		}, "-0.50", 1},
		{"duplicate applied once", week, []step{
			{credit(primerID, "Bob", 50), t0, true},
			{credit(primerID, "Bob", 50), t0.Add(time.Minute), false},
		}, "0.50", 1},
		// Both sides of one transfer under one account key would share a
		// request ID: a dedupe by request ID alone would drop the second.
		{"same request ID, both directions", week, []step{
			{debit(primerID, "Alice", 50), t0, true},
			{credit(primerID, "Alice", 50), t0, true},
		}, "0.00", 2},
		{"duplicate within the age bound", week, []step{
			{credit(primerID, "Bob", 50), t0, true},
			{credit(primerID, "Bob", 50), t0.Add(7 * 24 * time.Hour), false},
		}, "0.50", 1},
		{"age evicts old entries", week, []step{
			{credit(primerID, "Bob", 50), t0, true},
			{credit(otherID, "Bob", 25), t0.Add(8 * 24 * time.Hour), true},
		}, "0.75", 1},
		{"count evicts the oldest entries", wallet.DedupeBound{MaxCount: 2}, []step{
			{credit("00000000-0000-4000-8000-000000000001", "Bob", 1), t0, true},
			{credit("00000000-0000-4000-8000-000000000002", "Bob", 1), t0, true},
			{credit("00000000-0000-4000-8000-000000000003", "Bob", 1), t0, true},
			// The first was evicted, so its redelivery is applied again:
			// the documented edge of the dedupe window.
			{credit("00000000-0000-4000-8000-000000000001", "Bob", 1), t0, true},
			{credit("00000000-0000-4000-8000-000000000003", "Bob", 1), t0, false},
		}, "0.04", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var acct wallet.Account
			for i, s := range tt.steps {
				before := acct
				next, isNew := processors.Apply(acct, processors.Delivery{Instruction: s.p, Offset: int64(i), At: s.at.Unix()}, tt.bound)
				if isNew != s.wantNew {
					t.Fatalf("step %d: new = %v, want %v", i, isNew, s.wantNew)
				}
				if !isNew && !next.Balance.Equal(before.Balance) {
					t.Fatalf("step %d: a duplicate changed the balance from %s to %s", i, before.Balance, next.Balance)
				}
				acct = next
			}
			if got := acct.Balance.String(); got != tt.wantBalance {
				t.Errorf("balance = %s, want %s", got, tt.wantBalance)
			}
			if len(acct.Applied) != tt.wantApplied {
				t.Errorf("dedupe set has %d entries, want %d", len(acct.Applied), tt.wantApplied)
			}
		})
	}
}

// The offset of the message carrying a payment orders the versions of an
// account: a message the state already reflects is never applied again,
// even when its dedupe entry has been evicted.
func TestApplyOffsets(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	bobs := credit(primerID, "Bob", 50)
	seen := wallet.Account{
		Balance:    wallet.Cents(50),
		Applied:    wallet.Applied{{RequestID: uuid.MustParse(primerID), Kind: wallet.Credit, At: t0.Unix()}},
		NextOffset: 10,
	}
	evicted := wallet.Account{Balance: wallet.Cents(50), NextOffset: 10}
	tests := []struct {
		name        string
		acct        wallet.Account
		offset      int64
		copy        bool
		wantNew     bool
		wantBalance string
		wantNext    int64
	}{
		{"redelivered message, entry still in the set", seen, 7, false, false, "0.50", 10},
		{"redelivered message, entry evicted", evicted, 9, false, false, "0.50", 10},
		{"the next message", evicted, 10, false, true, "1.00", 11},
		{"after other accounts' messages", evicted, 20, false, true, "1.00", 21},
		{"re-posted payment in a later message", seen, 15, false, false, "0.50", 16},
		{"copy within the partition's window, entry evicted", evicted, 15, true, false, "0.50", 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, isNew := processors.Apply(tt.acct, processors.Delivery{Instruction: bobs, Offset: tt.offset, At: t0.Unix(), Copy: tt.copy}, wallet.DefaultDedupeBound)
			if isNew != tt.wantNew || next.Balance.String() != tt.wantBalance || next.NextOffset != tt.wantNext {
				t.Errorf("Apply at offset %d = new %v, balance %s, next offset %d; want %v, %s, %d",
					tt.offset, isNew, next.Balance, next.NextOffset, tt.wantNew, tt.wantBalance, tt.wantNext)
			}
		})
	}
}

func TestApplyDoesNotModifyItsInput(t *testing.T) {
	acct := wallet.Account{Applied: make(wallet.Applied, 1, 10)}
	acct.Applied[0] = wallet.AppliedPayment{RequestID: uuid.MustParse(otherID), Kind: wallet.Credit}
	next, _ := processors.Apply(acct, processors.Delivery{Instruction: credit(primerID, "Bob", 50)}, wallet.DedupeBound{})
	next.Applied[0].RequestID = uuid.Nil
	if acct.Applied[0].RequestID.String() != otherID || !acct.Balance.IsZero() {
		t.Errorf("input changed: %+v", acct)
	}
}

func TestAccountantDuplicateReemitsTableValue(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{})
	changelog := tt.NewQueueTracker(string(topology.AccountTable))
	p := credit(primerID, "Bob", 50)

	tt.Consume(string(topology.Payments), "bob", p)
	_, first, ok := changelog.Next()
	if !ok {
		t.Fatal("no table update for the first delivery")
	}
	tt.Consume(string(topology.Payments), "bob", p)
	_, second, ok := changelog.Next()
	if !ok {
		t.Fatal("the duplicate did not re-emit the table value")
	}

	if got := balance(t, tt, "Bob"); got != "0.50" {
		t.Errorf("Bob's balance = %s, want 0.50", got)
	}
	a, b := first.(wallet.Account), second.(wallet.Account)
	if !a.Balance.Equal(b.Balance) || len(a.Applied) != len(b.Applied) {
		t.Errorf("re-emitted %+v, want the first delivery's %+v", b, a)
	}
}

// Alice's debit and Bob's credit of one transfer share a request ID; here
// both accounts hash to partition 0 of the tester's one-partition topic.
func TestAccountantAppliesBothSidesInOnePartition(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{})
	for _, in := range primer.Instructions() {
		tt.Consume(string(topology.Payments), in.Account, in)
	}
	if got := balance(t, tt, "Alice"); got != "-0.50" {
		t.Errorf("Alice's balance = %s, want -0.50", got)
	}
	if got := balance(t, tt, "Bob"); got != "0.50" {
		t.Errorf("Bob's balance = %s, want 0.50", got)
	}
}

func TestAccountantDedupeBound(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tt := tester.New(t)
	// The partition's window off: this is about the account's own set.
	runAccountant(t, tt, processors.Accountant{Dedupe: wallet.DedupeBound{MaxAge: time.Hour, MaxCount: 1000}, Window: -1})
	p := credit(primerID, "Bob", 50)

	tt.Consume(string(topology.Payments), "bob", p, tester.WithTime(t0))
	tt.Consume(string(topology.Payments), "bob", p, tester.WithTime(t0.Add(30*time.Minute)))
	if got := balance(t, tt, "Bob"); got != "0.50" {
		t.Fatalf("within the window: balance = %s, want 0.50", got)
	}
	// Past the window the entry is gone: the window is what the dedupe
	// promises, and what the flags document.
	tt.Consume(string(topology.Payments), "bob", p, tester.WithTime(t0.Add(2*time.Hour)))
	if got := balance(t, tt, "Bob"); got != "1.00" {
		t.Errorf("past the window: balance = %s, want 1.00", got)
	}
}

// A copy paymentd emitted after a crash is recognised by the partition's
// window even when the account's dedupe set has evicted the original, up
// to the window's edge.
func TestAccountantWindow(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{Dedupe: wallet.DedupeBound{MaxAge: time.Hour, MaxCount: 1}, Window: 4})
	original := credit(primerID, "Bob", 50)
	others := []wallet.Instruction{
		credit("00000000-0000-4000-8000-000000000001", "Bob", 1),
		credit("00000000-0000-4000-8000-000000000002", "Bob", 1),
		credit("00000000-0000-4000-8000-000000000003", "Bob", 1),
		credit("00000000-0000-4000-8000-000000000004", "Bob", 1),
	}
	tt.Consume(string(topology.Payments), "bob", original) // offset 0
	for _, p := range others[:3] {                         // offsets 1-3: the set keeps only the last
		tt.Consume(string(topology.Payments), "bob", p)
	}
	tt.Consume(string(topology.Payments), "bob", original) // offset 4: 0 is 4 messages back
	if got := balance(t, tt, "Bob"); got != "0.53" {
		t.Fatalf("a copy within the window: balance = %s, want 0.53", got)
	}
	tt.Consume(string(topology.Payments), "bob", others[3])
	for range 3 {
		tt.Consume(string(topology.Payments), "bob", others[3]) // offsets 6-8, a copy of 5
	}
	// Offset 9: both copies of the original (0 and 4) are more than 4
	// messages back, and the set has evicted it: the documented edge.
	tt.Consume(string(topology.Payments), "bob", original)
	if got := balance(t, tt, "Bob"); got != "1.04" {
		t.Errorf("a copy past the window: balance = %s, want 1.04", got)
	}
}

func TestAccountantDeadLettersPoison(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"not JSON", "bob", []byte("\x00\x01")},
		{"unknown kind", "bob", []byte(`{"request_id":"` + primerID + `","kind":"sideways","account":"bob","from":"Alice","to":"Bob","amount":"1.00"}`)},
		{"key is not the account", "Carol", credit(primerID, "Bob", 50)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			runAccountant(t, tt, processors.Accountant{})
			dead := tt.NewQueueTracker(string(topology.DeadLetters))

			tt.Consume(string(topology.Payments), tc.key, tc.value)

			hdr, key, _, ok := dead.NextWithHeaders()
			if !ok {
				t.Fatal("nothing in the dead-letter topic")
			}
			if key != tc.key || string(hdr[topology.HeaderTopic]) != string(topology.Payments) || len(hdr[topology.HeaderError]) == 0 {
				t.Errorf("dead letter %q with headers %q", key, hdr)
			}
			if v := tt.TableValue(topology.AccountTable, tc.key); v != nil {
				t.Errorf("poison changed account %s: %+v", tc.key, v)
			}
			tt.Consume(string(topology.Payments), "bob", credit(primerID, "Bob", 50))
			if got := balance(t, tt, "Bob"); got != "0.50" {
				t.Errorf("after the poison: Bob's balance = %s, want 0.50", got)
			}
		})
	}
}

// updateContext is the position of a changelog record being stored.
type updateContext struct{ offset int64 }

func (updateContext) Topic() goka.Stream    { return goka.Stream(topology.AccountTable) }
func (updateContext) Partition() int32      { return 0 }
func (u updateContext) Offset() int64       { return u.offset }
func (updateContext) Headers() goka.Headers { return nil }
func (updateContext) Timestamp() time.Time  { return time.Time{} }

// StoreNewest keeps the newest version of an account whatever order the
// changelog holds its versions in.
func TestStoreNewest(t *testing.T) {
	version := func(cents, next int64) []byte {
		b, err := topology.AccountCodec.Encode(wallet.Account{Balance: wallet.Cents(cents), NextOffset: next})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		records [][]byte
		want    string // balance stored at the end; "" for none
	}{
		{"in order", [][]byte{version(100, 1), version(300, 5)}, "3.00"},
		{"a late old version", [][]byte{version(100, 1), version(300, 5), version(100, 1)}, "3.00"},
		{"the same version twice", [][]byte{version(100, 1), version(100, 1)}, "1.00"},
		{"format 1 then a version", [][]byte{[]byte("\x01\x041.00\x00"), version(300, 5)}, "3.00"},
		{"a tombstone deletes", [][]byte{version(300, 5), nil}, ""},
		{"not an account", [][]byte{version(300, 5), []byte("garbage")}, "3.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storage.NewMemory()
			staleBefore := processors.StaleRecords()
			for i, r := range tt.records {
				if err := processors.StoreNewest(updateContext{int64(i)}, s, "Bob", r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			got := ""
			if b, err := s.Get("Bob"); err != nil {
				t.Fatal(err)
			} else if b != nil {
				v, err := topology.AccountCodec.Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				got = v.(wallet.Account).Balance.String()
			}
			if got != tt.want {
				t.Errorf("stored balance %q, want %q", got, tt.want)
			}
			if tt.name == "a late old version" && processors.StaleRecords() != staleBefore+1 {
				t.Errorf("%d stale records counted, want 1", processors.StaleRecords()-staleBefore)
			}
		})
	}
}
