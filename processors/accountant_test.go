package processors_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// transfer returns a transfer of cents between two names.
func transfer(id, from, to string, cents int64) wallet.Transfer {
	return wallet.Transfer{RequestID: uuid.MustParse(id), From: from, To: to, Amount: wallet.Cents(cents)}
}

func openAccount(cents, limit int64) wallet.Account {
	return wallet.Account{Open: true, Balance: wallet.Cents(cents), OverdraftLimit: wallet.Cents(limit)}
}

func TestApply(t *testing.T) {
	debit := transfer(primerID, "Alice", "Bob", 50).Debit()
	credit := debit.Next()
	refund := credit.Next()
	worldDebit := transfer(primerID, "@world", "Bob", 50).Debit()
	worldCredit := transfer(primerID, "Alice", "@world", 50).Debit().Next()
	open := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Open, Account: "alice", Username: "Alice", OverdraftLimit: wallet.Cents(100)}
	tests := []struct {
		name        string
		acct        wallet.Account
		in          wallet.Instruction
		wantVerdict wallet.Verdict
		wantBalance string
		wantNext    *wallet.Instruction
		wantOutcome *wallet.Outcome
	}{
		{"debit within the balance", openAccount(50, 0), debit, wallet.Debited, "0.00", &credit, nil},
		{"debit within the overdraft limit", openAccount(0, 50), debit, wallet.Debited, "-0.50", &credit, nil},
		{"debit beyond the limit", openAccount(49, 0), debit, wallet.NoFunds, "0.49",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}},
		{"debit of an account not open", wallet.Account{Balance: wallet.Cents(100)}, debit, wallet.NoSender, "1.00",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}},
		{"debit of the world, without limit", wallet.Account{}, worldDebit, wallet.Debited, "-0.50", ptr(worldDebit.Next()), nil},
		{"credit to an open account", openAccount(0, 0), credit, wallet.Credited, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Completed}},
		{"credit to an account not open", wallet.Account{}, credit, wallet.NoRecipient, "0.00", &refund, nil},
		{"credit to the world", wallet.Account{}, worldCredit, wallet.Credited, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Completed}},
		{"refund", openAccount(0, 0), refund, wallet.Refunded, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}},
		{"open", wallet.Account{}, open, 0, "0.00", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, r := processors.Apply(tt.acct, processors.Delivery{Instruction: tt.in, Offset: 7})
			if r.Verdict != tt.wantVerdict || next.Balance.String() != tt.wantBalance || next.NextOffset != 8 {
				t.Errorf("verdict %c, balance %s, next offset %d; want %c, %s, 8", r.Verdict, next.Balance, next.NextOffset, tt.wantVerdict, tt.wantBalance)
			}
			if (r.Next == nil) != (tt.wantNext == nil) || r.Next != nil && !r.Next.Equal(*tt.wantNext) {
				t.Errorf("emits %+v, want %+v", r.Next, tt.wantNext)
			}
			if (r.Outcome == nil) != (tt.wantOutcome == nil) || r.Outcome != nil && *r.Outcome != *tt.wantOutcome {
				t.Errorf("reports %+v, want %+v", r.Outcome, tt.wantOutcome)
			}
			// Only a debit's decision is kept: the others follow from
			// whether the account was open at the offset.
			keeps := tt.in.Kind == wallet.Debit
			if keeps && (len(next.Unacked) != 1 || next.Unacked[0] != (wallet.Decision{Offset: 7, Verdict: tt.wantVerdict})) || !keeps && len(next.Unacked) != 0 {
				t.Errorf("keeps decisions %+v", next.Unacked)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A message the state already reflects emits again what its first
// delivery emitted, from the decision kept; a copy at a later offset
// changes nothing and emits nothing; decisions leave the state once
// acknowledged.
func TestApplyRedeliveriesAndCopies(t *testing.T) {
	debit := transfer(primerID, "Alice", "Bob", 50).Debit()
	refused, r := processors.Apply(openAccount(10, 0), processors.Delivery{Instruction: debit, Offset: 4})
	if r.Verdict != wallet.NoFunds {
		t.Fatalf("verdict %c, want a refusal", r.Verdict)
	}
	// Money arrives: the same debit, delivered again, must still be refused.
	funded := refused
	funded.Balance = wallet.Cents(1000)

	tests := []struct {
		name        string
		acct        wallet.Account
		d           processors.Delivery
		wantVerdict wallet.Verdict
		wantBalance string
	}{
		{"the refused debit delivered again", funded, processors.Delivery{Instruction: debit, Offset: 4}, wallet.NoFunds, "10.00"},
		{"delivered again once acknowledged", funded, processors.Delivery{Instruction: debit, Offset: 4, Acked: 5}, 0, "10.00"},
		{"a copy at a later offset", funded, processors.Delivery{Instruction: debit, Offset: 9, Copy: true}, 0, "10.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, r := processors.Apply(tt.acct, tt.d)
			if r.Verdict != tt.wantVerdict || next.Balance.String() != tt.wantBalance {
				t.Errorf("verdict %c, balance %s; want %c, %s", r.Verdict, next.Balance, tt.wantVerdict, tt.wantBalance)
			}
			if r.Next != nil {
				t.Errorf("emits %+v, want no credit", r.Next)
			}
			if tt.wantVerdict == wallet.NoFunds && (r.Outcome == nil || r.Outcome.Reason != wallet.ReasonInsufficientFunds || !r.Redelivered) {
				t.Errorf("reports %+v, want the same refusal again", r.Outcome)
			}
			if tt.d.Copy && (!r.Copy || r.Outcome != nil || next.NextOffset != 10) {
				t.Errorf("a copy: %+v, next offset %d", r, next.NextOffset)
			}
		})
	}
	if len(refused.Unacked) != 1 {
		t.Errorf("keeps %d decisions, want 1", len(refused.Unacked))
	}
	if next, _ := processors.Apply(refused, processors.Delivery{Instruction: debit, Offset: 12, Acked: 11}); len(next.Unacked) != 1 || next.Unacked[0].Offset != 12 {
		t.Errorf("after offset 11 is acknowledged, keeps %+v, want only the decision at 12", next.Unacked)
	}
}

// A credit or a refund delivered again emits what its first delivery
// did, worked out from when the account was opened: a credit that found
// Bob not open is refunded again even if Bob has opened since.
func TestApplyRedeliveredCreditsFollowTheOpen(t *testing.T) {
	credit := transfer(primerID, "Alice", "Bob", 50).Debit().Next()
	notYet, r := processors.Apply(wallet.Account{}, processors.Delivery{Instruction: credit, Offset: 3})
	if r.Verdict != wallet.NoRecipient || r.Next == nil || r.Next.Kind != wallet.Refund {
		t.Fatalf("credit to Bob not open: %+v", r)
	}
	open := wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Open, Account: "bob", Username: "Bob"}
	opened, _ := processors.Apply(notYet, processors.Delivery{Instruction: open, Offset: 5})
	if !opened.Open || opened.OpenFrom != 6 {
		t.Fatalf("open at 5: %+v, want open from 6", opened)
	}
	_, again := processors.Apply(opened, processors.Delivery{Instruction: credit, Offset: 3})
	if !again.Redelivered || again.Next == nil || again.Next.Kind != wallet.Refund || again.Outcome != nil {
		t.Errorf("the credit at 3 again, Bob open from 6: %+v, want the same refund", again)
	}
	later := transfer(otherID, "Alice", "Bob", 50).Debit().Next()
	applied, r := processors.Apply(opened, processors.Delivery{Instruction: later, Offset: 7})
	_, again = processors.Apply(applied, processors.Delivery{Instruction: later, Offset: 7})
	if r.Verdict != wallet.Credited || again.Outcome == nil || again.Outcome.Status != wallet.Completed || again.Next != nil {
		t.Errorf("a credit at 7 and again: %+v then %+v, want completed both times", r, again)
	}
	if applied.Balance.String() != "0.50" || len(applied.Unacked) != 0 {
		t.Errorf("after the credit: %+v, want 0.50 and no decision kept", applied)
	}
}

// The state is of constant size: however many instructions an account
// takes, it keeps only the debits' decisions not yet acknowledged.
func TestAccountValueStaysSmall(t *testing.T) {
	acct := openAccount(0, 100000)
	var biggest int
	for i := range int64(10000) {
		in := transfer(uuid.NewString(), "Alice", "Bob", 1+i%500).Debit()
		if i%2 == 1 {
			in = in.Next() // a credit
		}
		acct, _ = processors.Apply(acct, processors.Delivery{Instruction: in, Offset: 3 * i, Acked: 3*i - 6})
		b, err := topology.AccountCodec.Encode(acct)
		if err != nil {
			t.Fatal(err)
		}
		biggest = max(biggest, len(b))
	}
	if biggest > 64 {
		t.Errorf("an account value took %d bytes, want at most 64", biggest)
	}
}

// The saga in one partition: the tester delivers the accountant's own
// credits and refunds back to it, and its outcomes to paymentd.
func TestSaga(t *testing.T) {
	tt := tester.New(t)
	var out bytes.Buffer
	runSignup(t, tt, nil)
	runPayments(t, tt, nil)
	runAccountant(t, tt, processors.Accountant{Out: &out})
	for _, name := range []string{"Alice", "Bob"} {
		tt.Consume(string(topology.SignupRequests), strings.ToLower(name), claim(uuid.NewString(), name))
	}
	steps := []struct {
		name       string
		t          wallet.Transfer
		wantStatus wallet.Status
		wantReason string
		alice, bob string
	}{
		{"deposit", transfer("00000000-0000-4000-8000-000000000001", "@world", "Alice", 100), wallet.Completed, "", "1.00", "0.00"},
		{"the primer", transfer(primerID, "Alice", "Bob", 50), wallet.Completed, "", "0.50", "0.50"},
		{"overdraft: Alice's limit is 10.00", transfer("00000000-0000-4000-8000-000000000002", "Alice", "Bob", 1051), wallet.Rejected, wallet.ReasonInsufficientFunds, "0.50", "0.50"},
		{"within the limit", transfer("00000000-0000-4000-8000-000000000003", "Alice", "Bob", 1050), wallet.Completed, "", "-10.00", "11.00"},
		{"to a name never signed up", transfer("00000000-0000-4000-8000-000000000004", "Bob", "Carol", 100), wallet.Rejected, wallet.ReasonAccountNotFound, "-10.00", "11.00"},
		{"from a name never signed up", transfer("00000000-0000-4000-8000-000000000005", "Carol", "Bob", 100), wallet.Rejected, wallet.ReasonAccountNotFound, "-10.00", "11.00"},
		{"withdrawal", transfer("00000000-0000-4000-8000-000000000006", "Bob", "@world", 1100), wallet.Completed, "", "-10.00", "0.00"},
	}
	for _, s := range steps {
		tt.Consume(string(topology.TransferRequests), s.t.RequestID.String(), s.t)
		st, ok := tt.TableValue(topology.TransferTable, s.t.RequestID.String()).(wallet.TransferState)
		if !ok || st.Status != s.wantStatus || st.Reason != s.wantReason {
			t.Errorf("%s: transfer state %+v, want %s %s", s.name, st, s.wantStatus, s.wantReason)
		}
		if a, b := balance(t, tt, "Alice"), balance(t, tt, "Bob"); a != s.alice || b != s.bob {
			t.Errorf("%s: Alice %s, Bob %s; want %s, %s", s.name, a, b, s.alice, s.bob)
		}
	}
	if got := balance(t, tt, "@world"); got != "10.00" {
		t.Errorf("@world = %s, want 10.00: the balances sum to 0.00", got)
	}
	if got := balance(t, tt, "Carol"); got != "0.00" {
		t.Errorf("Carol = %s, want 0.00: nothing moves through a name never signed up", got)
	}
	if !strings.Contains(out.String(), primerID+" Alice -$0.50\nAlice balance: 0.50 USD") ||
		!strings.Contains(out.String(), "Carol +$1.00 refused: Carol is not an account; refunding Bob") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// A debit delivered again at its own offset, after a crash that left the
// local table ahead of Kafka, emits again exactly what its first delivery
// emitted: the same credit, or the same refusal, whatever the balance is
// by then.
func TestAccountantRedeliveredDebitReemits(t *testing.T) {
	for _, accepted := range []bool{true, false} {
		name := "refused"
		if accepted {
			name = "accepted"
		}
		t.Run(name, func(t *testing.T) {
			tt := tester.New(t)
			runAccountant(t, tt, processors.Accountant{})
			payments := tt.NewQueueTracker(string(topology.Payments))
			outcomes := tt.NewQueueTracker(string(topology.TransferRequests))
			debit := transfer(primerID, "Alice", "Bob", 50).Debit()
			before := openAccount(10, 0)
			if accepted {
				before.Balance = wallet.Cents(50)
			}
			offset := payments.Hwm() // where the tester will put the message
			after, _ := processors.Apply(before, processors.Delivery{Instruction: debit, Offset: offset})
			after.Balance = wallet.Cents(100000) // whatever came since
			tt.SetTableValue(topology.AccountTable, "alice", after)
			tt.SetTableValue(topology.AccountTable, "bob", openAccount(0, 0))

			tt.Consume(string(topology.Payments), "alice", debit)

			payments.Seek(offset + 1)
			_, next, credited := payments.Next()
			_, outcome, reported := outcomes.Next()
			switch {
			case accepted && (!credited || !next.(wallet.Instruction).Equal(debit.Next())):
				t.Errorf("emitted %+v, want the same credit again", next)
			case !accepted && (!reported || outcome.(wallet.Outcome).Reason != wallet.ReasonInsufficientFunds || credited):
				t.Errorf("reported %+v and credited %v, want the same refusal again and no credit", outcome, credited)
			}
			if got := balance(t, tt, "Alice"); got != "1000.00" {
				t.Errorf("Alice = %s: a redelivery changed the balance", got)
			}
		})
	}
}

// A copy of a debit at a later offset, as paymentd emits after its own
// crash, changes nothing and emits nothing.
func TestAccountantCopyOfDebitChangesNothing(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{})
	tt.SetTableValue(topology.AccountTable, "alice", openAccount(100, 0))
	tt.SetTableValue(topology.AccountTable, "bob", openAccount(0, 0))
	payments := tt.NewQueueTracker(string(topology.Payments))
	outcomes := tt.NewQueueTracker(string(topology.TransferRequests))
	debit := transfer(primerID, "Alice", "Bob", 50).Debit()

	tt.Consume(string(topology.Payments), "alice", debit)
	tt.Consume(string(topology.Payments), "alice", debit)

	if got := balance(t, tt, "Alice"); got != "0.50" {
		t.Errorf("Alice = %s, want 0.50: debited once", got)
	}
	var credits int
	for {
		_, v, ok := payments.Next()
		if !ok {
			break
		}
		if v.(wallet.Instruction).Kind == wallet.Credit {
			credits++
		}
	}
	if credits != 1 {
		t.Errorf("%d credits emitted, want 1", credits)
	}
	if _, v, ok := outcomes.Next(); !ok || v.(wallet.Outcome).Status != wallet.Completed {
		t.Errorf("reported %+v, want completed", v)
	}
	if _, v, ok := outcomes.Next(); ok {
		t.Errorf("reported %+v as well, want one outcome", v)
	}
}

// A copy is recognised within the partition's window of messages, up to
// its edge.
func TestAccountantWindow(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{Window: 4})
	tt.SetTableValue(topology.AccountTable, "bob", openAccount(0, 0))
	original := transfer(primerID, "Alice", "Bob", 50).Debit().Next()
	others := []wallet.Instruction{
		transfer("00000000-0000-4000-8000-000000000001", "Alice", "Bob", 1).Debit().Next(),
		transfer("00000000-0000-4000-8000-000000000002", "Alice", "Bob", 1).Debit().Next(),
		transfer("00000000-0000-4000-8000-000000000003", "Alice", "Bob", 1).Debit().Next(),
		transfer("00000000-0000-4000-8000-000000000004", "Alice", "Bob", 1).Debit().Next(),
	}
	tt.Consume(string(topology.Payments), "bob", original) // offset 0
	for _, in := range others[:3] {                        // offsets 1-3
		tt.Consume(string(topology.Payments), "bob", in)
	}
	tt.Consume(string(topology.Payments), "bob", original) // offset 4: 0 is 4 messages back
	if got := balance(t, tt, "Bob"); got != "0.53" {
		t.Fatalf("a copy within the window: balance = %s, want 0.53", got)
	}
	tt.Consume(string(topology.Payments), "bob", others[3])
	for range 3 {
		tt.Consume(string(topology.Payments), "bob", others[3]) // offsets 6-8, copies of 5
	}
	// Offset 9: both earlier messages of the original (0 and 4) are more
	// than 4 messages back: the documented edge of the window.
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
		{"key is not the account", "carol", transfer(primerID, "Alice", "Bob", 50).Debit().Next()},
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
		})
	}
}

// updateContext is the position of a changelog record being stored.
type updateContext struct {
	partition int32
	offset    int64
}

func (updateContext) Topic() goka.Stream    { return goka.Stream(topology.AccountTable) }
func (u updateContext) Partition() int32    { return u.partition }
func (u updateContext) Offset() int64       { return u.offset }
func (updateContext) Headers() goka.Headers { return nil }
func (updateContext) Timestamp() time.Time  { return time.Time{} }

// StoreNewest keeps the newest version of an account whatever order the
// changelog holds its versions in, and ignores the records no processor
// writes: tombstones, versions beyond the end of the input partition,
// keys in another partition.
func TestStoreNewest(t *testing.T) {
	version := func(cents, next int64) []byte {
		b, err := topology.AccountCodec.Encode(wallet.Account{Balance: wallet.Cents(cents), NextOffset: next})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const partitions, end = 4, 10
	bobs := topology.Partition("bob", partitions)
	tests := []struct {
		name      string
		partition int32 // of the records
		records   [][]byte
		want      string // balance stored at the end; "" for none
		forged    int64
	}{
		{"in order", bobs, [][]byte{version(100, 1), version(300, 5)}, "3.00", 0},
		{"a late old version", bobs, [][]byte{version(100, 1), version(300, 5), version(100, 1)}, "3.00", 0},
		{"the same version twice", bobs, [][]byte{version(100, 1), version(100, 1)}, "1.00", 0},
		{"a version at the end of the input", bobs, [][]byte{version(100, 1), version(300, end)}, "3.00", 0},
		// No processor deletes: a tombstone would wipe the account.
		{"a tombstone is ignored", bobs, [][]byte{version(300, 5), nil}, "3.00", 1},
		// A huge version would win over every honest one for ever and
		// freeze the account: the next honest version still wins.
		{"a version beyond the end is ignored", bobs, [][]byte{version(300, 5), version(99999, 1<<62), version(400, 6)}, "4.00", 1},
		{"a version one beyond the end is ignored", bobs, [][]byte{version(300, 5), version(99999, end+1)}, "3.00", 1},
		{"a key in another partition is ignored", (bobs + 1) % partitions, [][]byte{version(300, 5)}, "", 1},
		// A record that does not decode may be the newest version
		// damaged: it is stored, to poison the key, until a good record
		// repairs it.
		{"not an account", bobs, [][]byte{version(300, 5), []byte("garbage")}, "undecodable", 0},
		{"repaired", bobs, [][]byte{version(300, 5), []byte("garbage"), version(400, 6)}, "4.00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storage.NewMemory()
			staleBefore, forgedBefore := processors.StaleRecords(), processors.ForgedRecords()
			reads := 0
			newest := processors.StoreNewest(codecs.AccountNextOffset, partitions, func(p int32) (int64, error) {
				if p != tt.partition {
					t.Errorf("read the end of partition %d, want %d", p, tt.partition)
				}
				reads++
				return end, nil
			})
			for i, r := range tt.records {
				if err := newest(updateContext{tt.partition, int64(i)}, s, "bob", r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			got := ""
			if b, err := s.Get("bob"); err != nil {
				t.Fatal(err)
			} else if b != nil {
				if v, err := topology.AccountCodec.Decode(b); err != nil {
					got = "undecodable"
				} else {
					got = v.(wallet.Account).Balance.String()
				}
			}
			if got != tt.want {
				t.Errorf("stored balance %q, want %q", got, tt.want)
			}
			if tt.name == "a late old version" && processors.StaleRecords() != staleBefore+1 {
				t.Errorf("%d stale records counted, want 1", processors.StaleRecords()-staleBefore)
			}
			if n := processors.ForgedRecords() - forgedBefore; n != tt.forged {
				t.Errorf("%d forged records counted, want %d", n, tt.forged)
			}
			// The end is read once, and again only to refuse a record.
			if reads > 1+int(tt.forged) {
				t.Errorf("read the end %d times for %d records", reads, len(tt.records))
			}
		})
	}
}

// A failure to read the end offset fails the recovery: it is Kafka's
// failure, not the record's.
func TestStoreNewestEndUnknown(t *testing.T) {
	newest := processors.StoreNewest(codecs.AccountNextOffset, 0, func(int32) (int64, error) {
		return 0, errors.New("broker unreachable")
	})
	b, err := topology.AccountCodec.Encode(wallet.Account{NextOffset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := newest(updateContext{0, 0}, storage.NewMemory(), "bob", b); err == nil || !strings.Contains(err.Error(), "broker unreachable") {
		t.Errorf("got %v, want the failure to read the end", err)
	}
}
