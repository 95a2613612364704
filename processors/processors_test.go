package processors_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

const (
	primerID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	otherID  = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
)

var primer = wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}

// runPayments runs paymentd under the tester until the test ends.
func runPayments(t *testing.T, tt *tester.Tester) {
	t.Helper()
	proc, err := processors.NewPayments(nil, goka.WithTester(tt))
	runProcessor(t, proc, err)
}

// runAccountant runs the accountant under the tester until the test ends.
func runAccountant(t *testing.T, tt *tester.Tester, a processors.Accountant) {
	t.Helper()
	proc, err := processors.NewAccountant(nil, a, goka.WithTester(tt))
	runProcessor(t, proc, err)
}

func runProcessor(t *testing.T, proc *goka.Processor, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("create processor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor stopped with: %v", err)
		}
	})
}

// balance reads an account's balance from the accountant table.
func balance(t *testing.T, tt *tester.Tester, account string) string {
	t.Helper()
	key, err := wallet.AccountKey(account)
	if err != nil {
		t.Fatal(err)
	}
	v := tt.TableValue(topology.AccountTable, key)
	if v == nil {
		return "<none>"
	}
	return v.(wallet.Account).Balance.String()
}

func TestWholeFlow(t *testing.T) {
	tt := tester.New(t)
	var out bytes.Buffer
	runPayments(t, tt)
	runAccountant(t, tt, processors.Accountant{Out: &out})

	tt.Consume(string(topology.TransferRequests), primerID, primer)
	tt.Consume(string(topology.TransferRequests), primerID, primer) // a client's retry

	if got := balance(t, tt, "Alice"); got != "-0.50" {
		t.Errorf("Alice's balance = %s, want -0.50", got)
	}
	if got := balance(t, tt, "Bob"); got != "0.50" {
		t.Errorf("Bob's balance = %s, want 0.50", got)
	}
	want := "0:0 " + primerID + " Alice -$0.50\nAlice balance: -0.50 USD\n" +
		"0:1 " + primerID + " Bob +$0.50\nBob balance: 0.50 USD\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
