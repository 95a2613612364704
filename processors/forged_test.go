package processors_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// keyIn returns an account name whose key belongs to partition among
// partitions.
func keyIn(t *testing.T, partition int32, partitions int) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("user%d", i)
		if key, err := wallet.AccountKey(name); err != nil || key != name {
			continue // "user0" is the key "usero": a name that is its own key
		}
		if topology.Partition(name, partitions) == partition {
			return name
		}
	}
	t.Fatalf("no name in partition %d of %d", partition, partitions)
	return ""
}

// Inputs that no processor or API could have written are dead-lettered
// with the reason, the limit in force included, and move nothing. The
// tester has one partition, 0: with two partitions, a key of partition 1 is
// in the wrong one.
func TestForgedInputsAreDeadLettered(t *testing.T) {
	const partitions = 2
	here, elsewhere := keyIn(t, 0, partitions), keyIn(t, 1, partitions)
	credit := func(account string, amount string) wallet.Instruction {
		tr := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: account, Amount: wallet.MustParseMoney(amount)}
		return tr.Debit().Next()
	}
	open := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Open, Account: here, Username: here, OverdraftLimit: wallet.MustParseMoney("1000000.00")}
	transfer := func(amount string) wallet.Transfer {
		return wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.MustParseMoney(amount)}
	}
	accountant := func(t *testing.T, tt *tester.Tester) {
		runAccountant(t, tt, processors.Accountant{Bounds: testerBounds(t, partitions)})
	}
	transfers := func(max string) func(t *testing.T, tt *tester.Tester) {
		return func(t *testing.T, tt *tester.Tester) {
			proc, err := processors.NewTransfers(nil, processors.Transfers{MaxAmount: wallet.MustParseMoney(max), Bounds: testerBounds(t, 1)}, goka.WithTester(tt))
			runProcessor(t, proc, err)
		}
	}
	tests := []struct {
		name   string
		run    func(t *testing.T, tt *tester.Tester)
		input  goka.Stream
		key    string
		value  any
		output goka.Stream // where the group would have emitted its decision
		reason string
	}{
		{"a forged huge credit", accountant, topology.Instructions, here, credit(here, "92233720368547758.07"), topology.TransferRequests, // the largest Money
			"amount_gt_max: ensure this value is at most 1000000000.00"},
		{"a credit a cent above the maximum", accountant, topology.Instructions, here, credit(here, "1000000000.01"), topology.TransferRequests,
			"amount_gt_max: ensure this value is at most 1000000000.00"},
		{"an open with a huge overdraft limit", accountant, topology.Instructions, here, open, topology.TransferRequests,
			"overdraft_limit_invalid: overdraft limit must be from 0.00 to 1000.00"},
		{"a credit in the wrong partition", accountant, topology.Instructions, elsewhere, credit(elsewhere, "0.50"), topology.TransferRequests,
			fmt.Sprintf("key %q belongs to partition 1 of 2, not 0", strings.ToLower(elsewhere))},
		{"a transfer above a configured maximum", transfers("5000.00"), topology.TransferRequests, primerID, transfer("5000.01"), topology.Instructions,
			"amount_gt_max: ensure this value is at most 5000.00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			tc.run(t, tt)
			dead := tt.NewQueueTracker(string(topology.DeadLetters))
			out := tt.NewQueueTracker(string(tc.output))

			tt.Consume(string(tc.input), tc.key, tc.value)

			headers, key, _, ok := dead.NextWithHeaders()
			if !ok || key != tc.key {
				t.Fatalf("dead letter %q, %v; want one keyed %s", key, ok, tc.key)
			}
			if reason := string(headers[topology.HeaderError]); !strings.Contains(reason, tc.reason) {
				t.Errorf("dead letter reason %q, want it to contain %q", reason, tc.reason)
			}
			if _, v, ok := out.Next(); ok {
				t.Errorf("emitted %+v", v)
			}
		})
	}
}

// A configured maximum above the default is the limit: a transfer the API
// accepts under it is not dead-lettered by paymentd.
func TestConfiguredMaxAmountAboveTheDefault(t *testing.T) {
	tt := tester.New(t)
	proc, err := processors.NewTransfers(nil, processors.Transfers{MaxAmount: wallet.MustParseMoney("5000000000.00"), Bounds: testerBounds(t, 1)}, goka.WithTester(tt))
	runProcessor(t, proc, err)
	dead := tt.NewQueueTracker(string(topology.DeadLetters))
	debits := tt.NewQueueTracker(string(topology.Instructions))
	big := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.MustParseMoney("2000000000.00")}
	tt.Consume(string(topology.TransferRequests), primerID, big)
	if _, v, ok := dead.Next(); ok {
		t.Errorf("dead-lettered %s", v)
	}
	if _, _, ok := debits.Next(); !ok {
		t.Error("no debit emitted")
	}
}

// paymentd stores a transfer under its request ID: a stored value under
// another key was written by someone else, and the input that meets it is
// dead-lettered rather than answered from it.
func TestStoredTransferOfAnotherRequestIsRefused(t *testing.T) {
	tt := tester.New(t)
	runTransfers(t, tt, nil)
	dead := tt.NewQueueTracker(string(topology.DeadLetters))
	debits := tt.NewQueueTracker(string(topology.Instructions))
	other := primer
	other.RequestID, other.To = uuid.MustParse(otherID), "Mallory"
	tt.SetTableValue(topology.TransferTable, primerID, wallet.TransferState{Transfer: other, Status: wallet.Pending, NextOffset: 1})
	before := processors.ForgedRecords()

	tt.Consume(string(topology.TransferRequests), primerID, primer)

	headers, key, _, ok := dead.NextWithHeaders()
	if !ok || key != primerID || !strings.Contains(string(headers[topology.HeaderError]), "is for another key") {
		t.Fatalf("dead letter %q (%s), %v", key, headers[topology.HeaderError], ok)
	}
	if _, v, ok := debits.Next(); ok {
		t.Errorf("emitted %+v", v)
	}
	if got := processors.ForgedRecords() - before; got != 1 {
		t.Errorf("forged records counted: %d, want 1", got)
	}
}
