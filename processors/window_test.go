package processors

import (
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// The window holds exactly the payments of the last window messages, as
// messages that carry no payment (poison) pass and the queue is compacted.
func TestWindowHoldsTheLastWindowMessages(t *testing.T) {
	const window = 100
	r := newPaymentWindow(window)
	r.reset(0)
	keys := make([]paymentKey, 5000)
	for i := range keys {
		keys[i] = keyOf(wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Credit, Account: "bob"})
		r.add(int64(i), keys[i], i%10 != 0) // every tenth message is not a payment
	}
	if !r.continues(5000) || r.continues(4999) {
		t.Errorf("next = %d, want 5000", r.next)
	}
	if r.size() != 90 {
		t.Errorf("size = %d, want 90 payments in the last 100 messages", r.size())
	}
	for i, k := range keys {
		want := i >= 5000-window && i%10 != 0
		if r.has(k) != want {
			t.Fatalf("has(message %d) = %v, want %v", i, r.has(k), want)
		}
	}
	r.reset(7)
	if r.size() != 0 || r.has(keys[4999]) || !r.continues(7) {
		t.Errorf("after reset: size %d, next %d", r.size(), r.next)
	}
}
