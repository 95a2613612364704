package processors_test

import (
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

func TestDecideTransfer(t *testing.T) {
	primer := transfer(primerID, "Alice", "Bob", 50)
	pending := wallet.TransferState{Transfer: primer, Status: wallet.Pending, RequestOffset: 3, NextOffset: 4}
	final := pending
	final.Status, final.NextOffset = wallet.Completed, 9
	respelled := primer
	respelled.From = "ALICE"
	other := primer
	other.To = "Carol"
	tests := []struct {
		name         string
		stored       *wallet.TransferState
		t            wallet.Transfer
		offset       int64
		wantStore    *wallet.TransferState
		wantDebit    bool
		wantConflict bool
	}{
		{"first request: pending, debit", nil, primer, 3, &pending, true, false},
		{"the request replayed while pending: nothing", &pending, primer, 3, nil, false, false},
		{"the request replayed once final: nothing", &final, primer, 3, nil, false, false},
		{"a re-post: nothing", &pending, primer, 12, nil, false, false},
		{"a re-post spelled otherwise: nothing", &final, respelled, 12, nil, false, false},
		{"another transfer under the request ID: refused", &pending, other, 12, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := processors.DecideTransfer(tt.stored, tt.t, tt.offset)
			if (d.Conflict != nil) != tt.wantConflict || (d.Debit != nil) != tt.wantDebit || (d.Store != nil) != (tt.wantStore != nil) {
				t.Fatalf("DecideTransfer = store %+v, debit %+v, conflict %v", d.Store, d.Debit, d.Conflict)
			}
			if d.Store != nil && (d.Store.Status != tt.wantStore.Status || d.Store.RequestOffset != tt.wantStore.RequestOffset || d.Store.NextOffset != tt.wantStore.NextOffset) {
				t.Errorf("stores %+v, want %+v", *d.Store, *tt.wantStore)
			}
			if d.Debit != nil && !d.Debit.Equal(primer.Debit()) {
				t.Errorf("debits %+v, want %+v", *d.Debit, primer.Debit())
			}
			if tt.wantConflict && wallet.ErrorCode(d.Conflict) != wallet.ERequestIDConflict {
				t.Errorf("conflict %v, want request_id_conflict", d.Conflict)
			}
		})
	}
}

func TestRecordOutcome(t *testing.T) {
	primer := transfer(primerID, "Alice", "Bob", 50)
	pending := wallet.TransferState{Transfer: primer, Status: wallet.Pending, RequestOffset: 3, NextOffset: 4}
	completed := wallet.Outcome{RequestID: primer.RequestID, Status: wallet.Completed}
	rejected := wallet.Outcome{RequestID: primer.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}

	s, err := processors.RecordOutcome(&pending, completed, 8)
	if err != nil || s == nil || s.Status != wallet.Completed || s.NextOffset != 9 {
		t.Fatalf("the first outcome: %+v, %v; want completed at next offset 9", s, err)
	}
	final := *s
	if again, err := processors.RecordOutcome(&final, completed, 8); err != nil || again != nil {
		t.Errorf("the outcome replayed: %+v, %v; want nothing", again, err)
	}
	if other, err := processors.RecordOutcome(&final, rejected, 11); err != nil || other != nil {
		t.Errorf("a later, different outcome: %+v, %v; want nothing: a final status never changes", other, err)
	}
	if _, err := processors.RecordOutcome(nil, completed, 2); err == nil {
		t.Error("an outcome for no transfer was recorded")
	}
}

// A re-post emits nothing; a conflicting re-use is dead-lettered and
// moves nothing; the transfer keeps its first body.
func TestTransfersRepostsAndConflicts(t *testing.T) {
	tt := tester.New(t)
	runTransfers(t, tt, nil)
	debits := tt.NewQueueTracker(string(topology.Instructions))
	dead := tt.NewQueueTracker(string(topology.DeadLetters))
	primer := transfer(primerID, "Alice", "Bob", 50)
	other := primer
	other.To = "Carol"

	tt.Consume(string(topology.TransferRequests), primerID, primer)
	tt.Consume(string(topology.TransferRequests), primerID, primer)
	tt.Consume(string(topology.TransferRequests), primerID, other)

	if n := debits.Hwm() - debits.NextOffset(); n != 1 {
		t.Errorf("%d debits emitted, want 1: a re-post emits nothing, a conflict nothing", n)
	}
	if _, _, ok := dead.Next(); !ok {
		t.Error("the conflicting re-use is not in the dead letters")
	}
	st, _ := transferState(t, tt, primerID)
	if st.To != "Bob" || st.Status != wallet.Pending {
		t.Errorf("stored %+v, want the first transfer, pending", st)
	}
}

// An outcome makes the status final, and a final status does not change.
func TestTransfersRecordsOutcomes(t *testing.T) {
	tt := tester.New(t)
	runTransfers(t, tt, nil)
	primer := transfer(primerID, "Alice", "Bob", 50)
	completed, rejected := processors.TransferCount("completed", ""), processors.TransferCount("rejected", wallet.ReasonAccountNotFound)
	tt.Consume(string(topology.TransferRequests), primerID, primer)
	tt.Consume(string(topology.TransferRequests), primerID, wallet.Outcome{RequestID: primer.RequestID, Status: wallet.Completed})
	tt.Consume(string(topology.TransferRequests), primerID, wallet.Outcome{RequestID: primer.RequestID, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound})
	st, _ := transferState(t, tt, primerID)
	if st.Status != wallet.Completed || st.Reason != "" {
		t.Errorf("status %s (%s), want completed", st.Status, st.Reason)
	}
	// Counted once, as the status it was made final with.
	if got := processors.TransferCount("completed", "") - completed; got != 1 {
		t.Errorf("%d transfers counted completed, want 1", got)
	}
	if got := processors.TransferCount("rejected", wallet.ReasonAccountNotFound) - rejected; got != 0 {
		t.Errorf("%d transfers counted rejected, want 0", got)
	}
}

func TestTransfersDeadLettersPoison(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"not JSON", primerID, []byte("{")},
		{"too precise amount", primerID, []byte(`{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"1.001"}`)},
		{"key is not the request ID", otherID, transfer(primerID, "Alice", "Bob", 50)},
		{"an outcome of no transfer", primerID, wallet.Outcome{RequestID: transfer(primerID, "A", "B", 1).RequestID, Status: wallet.Completed}},
		{"an outcome of another kind", primerID, []byte(`{"request_id":"` + primerID + `","kind":"refund"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			runTransfers(t, tt, nil)
			dead := tt.NewQueueTracker(string(topology.DeadLetters))
			debits := tt.NewQueueTracker(string(topology.Instructions))

			tt.Consume(string(topology.TransferRequests), tc.key, tc.value)

			if _, key, _, ok := dead.NextWithHeaders(); !ok || key != tc.key {
				t.Errorf("dead letter %q, %v; want one keyed %s", key, ok, tc.key)
			}
			if _, v, ok := debits.Next(); ok {
				t.Errorf("emitted %+v", v)
			}
		})
	}
}
