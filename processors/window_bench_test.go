package processors

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// BenchmarkWindow measures what the payment window costs per payment once
// full (look up, record, drop the oldest) and its memory per payment held.
func BenchmarkWindow(b *testing.B) {
	for _, window := range []int64{10_000, DefaultWindow} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			keys := make([]paymentKey, 200)
			for i := range keys {
				keys[i] = keyOf(wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Credit, Account: fmt.Sprintf("acct-%05d", i)})
			}
			// The i-th payment: distinct request IDs, 200 accounts.
			payment := func(i int64) paymentKey {
				k := keys[i%int64(len(keys))]
				binary.BigEndian.PutUint64(k.requestID[8:], uint64(i))
				return k
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := newPaymentWindow(window)
			r.reset(0)
			for i := range window {
				r.add(i, payment(i), true)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perPayment := float64(after.HeapAlloc-before.HeapAlloc) / float64(window)
			b.ResetTimer()
			for i := range b.N {
				offset := window + int64(i)
				k := payment(offset)
				if r.has(k) {
					b.Fatal("an unseen payment is in the window")
				}
				r.add(offset, k, true)
			}
			b.ReportMetric(perPayment, "heap-bytes/payment")
			runtime.KeepAlive(r)
		})
	}
}
