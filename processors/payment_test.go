package processors_test

import (
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

func TestRoute(t *testing.T) {
	other := primer
	other.To = "Carol"
	tests := []struct {
		name     string
		stored   *wallet.Transfer
		in       wallet.Transfer
		wantTo   string
		conflict bool
	}{
		{"first delivery", nil, primer, "Bob", false},
		{"duplicate re-emits the same instructions", &primer, primer, "Bob", false},
		{"request ID reused for another recipient", &primer, other, "Bob", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, instructions, err := processors.Route(tt.stored, tt.in)
			if (err != nil) != tt.conflict {
				t.Fatalf("err = %v, want conflict %v", err, tt.conflict)
			}
			if keep.To != tt.wantTo || instructions[1].To != tt.wantTo {
				t.Errorf("stored to %s and credited %s, want %s", keep.To, instructions[1].To, tt.wantTo)
			}
			if instructions[0].Account != "alice" || instructions[0].Kind != wallet.Debit {
				t.Errorf("first instruction = %+v, want Alice's debit", instructions[0])
			}
		})
	}
}

func TestPaymentsEmitsTwoPayments(t *testing.T) {
	tt := tester.New(t)
	runPayments(t, tt)
	payments := tt.NewQueueTracker(string(topology.Payments))

	tt.Consume(string(topology.TransferRequests), primerID, primer)

	want := primer.Instructions()
	for i := range want {
		key, v, ok := payments.Next()
		if !ok {
			t.Fatalf("payment %d missing", i)
		}
		p := v.(wallet.Instruction)
		if key != want[i].Account || !p.Equal(want[i]) {
			t.Errorf("payment %d = %s %+v, want %+v", i, key, p, want[i])
		}
	}
	if _, _, ok := payments.Next(); ok {
		t.Error("more than two payments emitted")
	}
}

func TestPaymentsReemitsOnDuplicate(t *testing.T) {
	tt := tester.New(t)
	runPayments(t, tt)
	tt.Consume(string(topology.TransferRequests), primerID, primer)
	payments := tt.NewQueueTracker(string(topology.Payments))

	tt.Consume(string(topology.TransferRequests), primerID, primer)

	if n := payments.Hwm() - payments.NextOffset(); n != 2 {
		t.Errorf("a duplicate emitted %d payments, want the same 2 again", n)
	}
}

func TestPaymentsRejectsReusedRequestID(t *testing.T) {
	tt := tester.New(t)
	runPayments(t, tt)
	tt.Consume(string(topology.TransferRequests), primerID, primer)
	payments := tt.NewQueueTracker(string(topology.Payments))
	dead := tt.NewQueueTracker(string(topology.DeadLetters))

	carol := primer
	carol.To = "Carol"
	tt.Consume(string(topology.TransferRequests), primerID, carol)

	for payments.NextOffset() < payments.Hwm() {
		_, v, _ := payments.Next()
		if p := v.(wallet.Instruction); p.To == "Carol" {
			t.Errorf("Carol was paid: %+v", p)
		}
	}
	hdr, key, _, ok := dead.NextWithHeaders()
	if !ok {
		t.Fatal("no dead letter for the reused request ID")
	}
	if key != primerID || len(hdr[topology.HeaderError]) == 0 {
		t.Errorf("dead letter key %q headers %v", key, hdr)
	}
	if got := tt.TableValue(topology.TransferTable, primerID).(wallet.Transfer); !got.Equal(primer) {
		t.Errorf("stored transfer = %+v, want the first one", got)
	}
}

func TestPaymentsDeadLettersPoison(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"not JSON", primerID, []byte("{nope")},
		{"invalid transfer", primerID, []byte(`{"request_id":"` + primerID + `","from":"Alice","to":"Alice","amount":"1.00"}`)},
		{"too precise amount", primerID, []byte(`{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"1.001"}`)},
		{"key is not the request ID", otherID, primer},
		{"empty value", primerID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			runPayments(t, tt)
			dead := tt.NewQueueTracker(string(topology.DeadLetters))
			payments := tt.NewQueueTracker(string(topology.Payments))
			before := processors.DeadLetters()

			tt.Consume(string(topology.TransferRequests), tc.key, tc.value)

			hdr, key, v, ok := dead.NextWithHeaders()
			if !ok {
				t.Fatal("nothing in the dead-letter topic")
			}
			if key != tc.key {
				t.Errorf("dead letter key = %q, want %q", key, tc.key)
			}
			if raw, isRaw := tc.value.([]byte); isRaw && string(v.([]byte)) != string(raw) {
				t.Errorf("dead letter value = %q, want the original %q", v, raw)
			}
			if string(hdr[topology.HeaderTopic]) != string(topology.TransferRequests) ||
				string(hdr[topology.HeaderPartition]) != "0" || string(hdr[topology.HeaderOffset]) != "0" ||
				len(hdr[topology.HeaderError]) == 0 {
				t.Errorf("dead letter headers = %q", hdr)
			}
			if _, _, ok := payments.Next(); ok {
				t.Error("poison produced a payment")
			}
			if got := processors.DeadLetters() - before; got != 1 {
				t.Errorf("dead-letter counter went up by %d, want 1", got)
			}

			// Processing moves on.
			tt.Consume(string(topology.TransferRequests), primerID, primer)
			if _, _, ok := payments.Next(); !ok {
				t.Error("a good transfer after the poison was not processed")
			}
		})
	}
}
