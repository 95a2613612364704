package processors_test

import (
	"context"
	"io"
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

// runPayments runs paymentd under the tester until the test ends,
// printing its lines to out.
func runPayments(t *testing.T, tt *tester.Tester, out io.Writer) {
	t.Helper()
	proc, err := processors.NewPayments(nil, processors.Payments{Out: out}, goka.WithTester(tt))
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
