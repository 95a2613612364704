package processors_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
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
		{"debit to exactly minus the limit", openAccount(25, 25), debit, wallet.Debited, "-0.25", &credit, nil},
		{"debit a cent beyond the balance and the limit", openAccount(24, 25), debit, wallet.NoFunds, "0.24",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}},
		{"debit of an account not open", wallet.Account{Balance: wallet.Cents(100)}, debit, wallet.NoSender, "1.00",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}},
		{"debit of the world, without limit", wallet.Account{}, worldDebit, wallet.Debited, "-0.50", ptr(worldDebit.Next()), nil},
		{"debit of the world beyond Money's range", wallet.Account{Balance: wallet.Cents(math.MinInt64 + 49)}, worldDebit, wallet.NoFunds, "-92233720368547757.59",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}},
		{"credit beyond Money's range", openAccount(math.MaxInt64-49, 0), credit, wallet.NoRecipient, "92233720368547757.58", &refund, nil},
		{"credit to an open account", openAccount(0, 0), credit, wallet.Credited, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Completed}},
		{"credit to an account not open", wallet.Account{}, credit, wallet.NoRecipient, "0.00", &refund, nil},
		{"credit to the world", wallet.Account{}, worldCredit, wallet.Credited, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Completed}},
		{"refund", openAccount(0, 0), refund, wallet.Refunded, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}},
		// The sender's debit was applied, so its money comes back
		// whatever the state says: it is never lost.
		{"refund to an account not open", wallet.Account{}, refund, wallet.Refunded, "0.50",
			nil, &wallet.Outcome{RequestID: debit.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}},
		{"open", wallet.Account{}, open, 0, "0.00", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, r := processors.Apply(tt.acct, tt.in, 7)
			if r.Verdict != tt.wantVerdict || next.Balance.String() != tt.wantBalance || next.NextOffset != 8 || r.Replayed {
				t.Errorf("verdict %c, balance %s, next offset %d, replayed %v; want %c, %s, 8, false", r.Verdict, next.Balance, next.NextOffset, r.Replayed, tt.wantVerdict, tt.wantBalance)
			}
			if (r.Next == nil) != (tt.wantNext == nil) || r.Next != nil && !r.Next.Equal(*tt.wantNext) {
				t.Errorf("emits %+v, want %+v", r.Next, tt.wantNext)
			}
			if (r.Outcome == nil) != (tt.wantOutcome == nil) || r.Outcome != nil && *r.Outcome != *tt.wantOutcome {
				t.Errorf("reports %+v, want %+v", r.Outcome, tt.wantOutcome)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A message below the state's next offset is one the state reflects,
// whose outputs were committed with it: replayed, whatever kind it is and
// whatever has changed since, it changes nothing and emits nothing. A
// refused debit replayed after money arrived is not accepted; a credit
// replayed is not credited again; a credit that was refunded is not
// refunded again.
func TestApplyReplaysChangeNothing(t *testing.T) {
	debit := transfer(primerID, "Alice", "Bob", 50).Debit()
	credit := debit.Next()
	state := openAccount(1000, 0)
	state.NextOffset = 10
	for _, in := range []wallet.Instruction{debit, credit, credit.Next(),
		{RequestID: uuid.New(), Kind: wallet.Open, Account: "alice", Username: "Alice", OverdraftLimit: wallet.Cents(100)}} {
		for _, offset := range []int64{0, 4, 9} {
			next, r := processors.Apply(state, in, offset)
			if next != state || r != (processors.Result{Replayed: true}) {
				t.Errorf("%s at %d below next offset 10: %+v, %+v; want the state unchanged and nothing emitted", in.Kind, offset, next, r)
			}
		}
	}
	if _, r := processors.Apply(state, debit, 10); r.Replayed || r.Verdict != wallet.Debited {
		t.Errorf("the debit at the next offset: %+v, want it decided", r)
	}
}

// Whether an account is open follows its open instruction: a credit
// before it finds the account not open and is refunded, one after it is
// credited.
func TestApplyCreditsFollowTheOpen(t *testing.T) {
	credit := transfer(primerID, "Alice", "Bob", 50).Debit().Next()
	notYet, r := processors.Apply(wallet.Account{}, credit, 3)
	if r.Verdict != wallet.NoRecipient || r.Next == nil || r.Next.Kind != wallet.Refund {
		t.Fatalf("credit to Bob not open: %+v", r)
	}
	open := wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Open, Account: "bob", Username: "Bob"}
	opened, _ := processors.Apply(notYet, open, 5)
	if !opened.Open || opened.OpenFrom != 6 {
		t.Fatalf("open at 5: %+v, want open from 6", opened)
	}
	reopened, _ := processors.Apply(opened, wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Open, Account: "bob", Username: "Bob", OverdraftLimit: wallet.Cents(100)}, 6)
	if reopened.OpenFrom != 6 || !reopened.OverdraftLimit.IsZero() {
		t.Errorf("a second open: %+v, want the first one's limit and offset", reopened)
	}
	later := transfer(otherID, "Alice", "Bob", 50).Debit().Next()
	applied, r := processors.Apply(opened, later, 7)
	if r.Verdict != wallet.Credited || r.Outcome == nil || r.Outcome.Status != wallet.Completed || applied.Balance.String() != "0.50" {
		t.Errorf("a credit at 7: %+v, %+v; want completed and 0.50", r, applied)
	}
}

// The state is of constant size: however many instructions an account
// takes, sender or recipient, World included, its value stays small.
func TestAccountValueStaysSmall(t *testing.T) {
	for _, sender := range []string{"Alice", "@world"} {
		acct := openAccount(0, 100000)
		var biggest int
		for i := range int64(10000) {
			in := transfer(uuid.NewString(), sender, "Bob", 1+i%500).Debit()
			if i%2 == 1 {
				in = transfer(uuid.NewString(), "Bob", sender, 1+i%500).Debit().Next() // a credit
			}
			acct, _ = processors.Apply(acct, in, 3*i)
			b, err := topology.AccountCodec.Encode(acct)
			if err != nil {
				t.Fatal(err)
			}
			biggest = max(biggest, len(b))
		}
		if biggest > 40 {
			t.Errorf("%s: an account value took %d bytes, want at most 40", sender, biggest)
		}
	}
}

// The saga in one partition: the tester delivers the accountant's own
// credits and refunds back to it, and its outcomes to paymentd.
func TestSaga(t *testing.T) {
	tt := tester.New(t)
	var out bytes.Buffer
	runSignup(t, tt, nil)
	runTransfers(t, tt, nil)
	runAccountant(t, tt, processors.Accountant{Out: &out, Bounds: testerBounds(t, 1)})
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
		st, ok := transferState(t, tt, s.t.RequestID.String())
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

// A debit replayed (the account's state already reflects its offset, as
// after committed offsets were lost) emits nothing and changes nothing,
// accepted or refused the first time, whatever the balance is by then.
func TestAccountantReplayedDebitEmitsNothing(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{Bounds: testerBounds(t, 1)})
	instructions := tt.NewQueueTracker(string(topology.Instructions))
	outcomes := tt.NewQueueTracker(string(topology.TransferRequests))
	debit := transfer(primerID, "Alice", "Bob", 50).Debit()
	offset := instructions.Hwm() // where the tester will put the message
	after := openAccount(100000, 0)
	after.NextOffset = offset + 1
	tt.SetTableValue(topology.AccountTable, "alice", after)

	tt.Consume(string(topology.Instructions), "alice", debit)

	instructions.Seek(offset + 1)
	if _, v, ok := instructions.Next(); ok {
		t.Errorf("emitted %+v, want nothing", v)
	}
	if _, v, ok := outcomes.Next(); ok {
		t.Errorf("reported %+v, want nothing", v)
	}
	if got := balance(t, tt, "Alice"); got != "1000.00" {
		t.Errorf("Alice = %s: a replay changed the balance", got)
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
			runAccountant(t, tt, processors.Accountant{Bounds: testerBounds(t, 1)})
			dead := tt.NewQueueTracker(string(topology.DeadLetters))

			tt.Consume(string(topology.Instructions), tc.key, tc.value)

			hdr, key, _, ok := dead.NextWithHeaders()
			if !ok {
				t.Fatal("nothing in the dead-letter topic")
			}
			if key != tc.key || string(hdr[topology.HeaderTopic]) != string(topology.Instructions) || len(hdr[topology.HeaderError]) == 0 {
				t.Errorf("dead letter %q with headers %q", key, hdr)
			}
			if v := tt.TableValue(topology.AccountTable, tc.key); v != nil {
				t.Errorf("poison changed account %s: %+v", tc.key, v)
			}
		})
	}
}
