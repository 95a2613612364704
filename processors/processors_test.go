package processors_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

const (
	primerID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	otherID  = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
)

var primer = wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}

// runTransfers runs paymentd under the tester until the test ends,
// printing its lines to out.
func runTransfers(t *testing.T, tt *tester.Tester, out io.Writer) {
	t.Helper()
	proc, err := processors.NewTransfers(nil, processors.Transfers{Out: out, Bounds: testerBounds(t, 1)}, goka.WithTester(tt))
	runProcessor(t, proc, err)
}

// runAccountant runs the accountant under the tester until the test ends.
func runAccountant(t *testing.T, tt *tester.Tester, a processors.Accountant) {
	t.Helper()
	proc, err := processors.NewAccountant(nil, a, goka.WithTester(tt))
	runProcessor(t, proc, err)
}

// testerBounds returns the bounds of a processor under goka's tester,
// whose topics have one partition: with partitions 1 every key is in its
// partition, with more a key may be in the wrong one. The tester never
// recovers a table from a changelog here, so there is no input end to
// read: a read fails the test.
func testerBounds(t *testing.T, partitions int) processors.Bounds {
	return processors.Bounds{Partitions: partitions, End: func(topic goka.Stream, partition int32) (int64, error) {
		t.Errorf("read the end of %s/%d: the tester has no end offsets", topic, partition)
		return 0, fmt.Errorf("the tester has no end offset of %s/%d", topic, partition)
	}}
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

// transferState returns paymentd's stored state of request ID id, and
// false if it has none.
func transferState(t *testing.T, tt *tester.Tester, id string) (wallet.TransferState, bool) {
	t.Helper()
	v := tt.TableValue(topology.TransferTable, id)
	if v == nil {
		return wallet.TransferState{}, false
	}
	s, err := v.(codecs.StoredTransfer).For(id)
	if err != nil {
		t.Fatalf("the stored transfer of %s: %v", id, err)
	}
	return s, true
}

// A table value that does not decode is poison in the table: the input
// that meets it goes to the dead letters with the reason and the value is
// counted, instead of a panic in the callback and a restart loop. The
// group goes on with the other keys.
func TestUndecodableTableValueDeadLettersTheInput(t *testing.T) {
	claim := wallet.Claim{RequestID: uuid.MustParse(otherID), Username: "carol"}
	credit := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Credit, Account: "bob", From: "alice", To: "bob", Amount: wallet.Cents(50)}
	tests := []struct {
		name  string
		run   func(t *testing.T, tt *tester.Tester)
		table goka.Table
		input goka.Stream
		key   string
		value any
		// output is where the group would have emitted its decision.
		output goka.Stream
	}{
		{"signup", func(t *testing.T, tt *tester.Tester) { runSignup(t, tt, nil) }, topology.SignupTable, topology.SignupRequests, "carol", claim, topology.Instructions},
		{"paymentd", func(t *testing.T, tt *tester.Tester) { runTransfers(t, tt, nil) }, topology.TransferTable, topology.TransferRequests, primerID, primer, topology.Instructions},
		{"accountant", func(t *testing.T, tt *tester.Tester) {
			runAccountant(t, tt, processors.Accountant{Bounds: testerBounds(t, 1)})
		}, topology.AccountTable, topology.Instructions, "bob", credit, topology.TransferRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			tc.run(t, tt)
			dead := tt.NewQueueTracker(string(topology.DeadLetters))
			out := tt.NewQueueTracker(string(tc.output))
			before := processors.UndecodableRecords()

			tt.SetTableValue(tc.table, tc.key, []byte("\x00garbage"))
			tt.Consume(string(tc.input), tc.key, tc.value)

			headers, key, _, ok := dead.NextWithHeaders()
			if !ok || key != tc.key {
				t.Fatalf("dead letter %q, %v; want one keyed %s", key, ok, tc.key)
			}
			if reason := string(headers[topology.HeaderError]); !strings.Contains(reason, "does not decode, so this input was not applied") {
				t.Errorf("dead letter reason %q", reason)
			}
			if _, v, ok := out.Next(); ok {
				t.Errorf("emitted %+v", v)
			}
			if got := processors.UndecodableRecords() - before; got != 1 {
				t.Errorf("undecodable records counted: %d, want 1", got)
			}
		})
	}
}
