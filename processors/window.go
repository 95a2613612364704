package processors

import (
	"hash/maphash"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// DefaultWindow is the default number of messages of a payment partition
// within which a copy of a payment is recognised by the partition, not the
// account. The README says how to size it from a partition's payment rate
// and the longest failover; docs/BENCHMARKS.md has what it costs.
const DefaultWindow = 200_000

// paymentWindow remembers the payments carried by the last window messages of one
// partition of the payment topic.
//
// paymentd emits a transfer's debit again when its request is delivered
// again, and the accountant a credit or refund when the debit or credit
// is, and after a crash the copies follow the originals by the failover
// time (measured in the README's "Failures"), at later offsets. An
// account's state keeps no history to recognise them by; a
// partition-wide window sized in messages covers the busiest account as
// well as the quietest.
//
// The window is exact: at each offset x it holds the payments at offsets
// [x-window, x), so every instance that applies message x decides alike,
// which StoreNewest relies on. An accountant that starts on a partition
// anywhere else than where it left it rebuilds the window by reading the
// messages before its first one.
type paymentWindow struct {
	window  int64
	next    int64 // offset after the last message recorded; -1 for none
	entries []windowEntry
	head    int // entries[head:] are in the window, oldest first
	count   map[paymentKey]int
}

type windowEntry struct {
	offset int64
	key    paymentKey
}

// paymentKey identifies an instruction to an account; the account is
// hashed to keep the window small, and a collision needs the same request
// ID too.
type paymentKey struct {
	account   uint64
	requestID uuid.UUID
	kind      wallet.Kind
}

var accountSeed = maphash.MakeSeed()

func keyOf(in wallet.Instruction) paymentKey {
	return paymentKey{account: maphash.String(accountSeed, in.Account), requestID: in.RequestID, kind: in.Kind}
}

func newPaymentWindow(window int64) *paymentWindow {
	return &paymentWindow{window: window, next: -1, count: map[paymentKey]int{}}
}

// continues reports whether offset is the message after the last one
// recorded, so that the window is complete for it.
func (r *paymentWindow) continues(offset int64) bool { return r.next == offset }

// reset empties the window; the next message recorded is at offset from.
func (r *paymentWindow) reset(from int64) {
	clear(r.count)
	r.entries, r.head, r.next = r.entries[:0], 0, from
}

// has reports whether the window holds the payment.
func (r *paymentWindow) has(k paymentKey) bool { return r.count[k] > 0 }

// add records the message at offset, carrying the payment k if ok, and
// drops what falls out of the window.
func (r *paymentWindow) add(offset int64, k paymentKey, ok bool) {
	if ok {
		r.entries = append(r.entries, windowEntry{offset, k})
		r.count[k]++
	}
	r.next = offset + 1
	for r.head < len(r.entries) && r.entries[r.head].offset < r.next-r.window {
		old := r.entries[r.head].key
		if r.count[old]--; r.count[old] == 0 {
			delete(r.count, old)
		}
		r.head++
	}
	if r.head > len(r.entries)/2 && r.head > 1024 {
		n := copy(r.entries, r.entries[r.head:])
		r.entries, r.head = r.entries[:n], 0
	}
}

// size returns the number of payments in the window.
func (r *paymentWindow) size() int { return len(r.entries) - r.head }
