package processors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// BenchmarkHotAccount measures what the accountant does for one payment to
// an account whose dedupe set is full: decode the table value, apply,
// encode the value it writes to RocksDB and the changelog. The cost grows with the set, so
// a hot account pays it on every payment.
func BenchmarkHotAccount(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("dedupe=%d", n), func(b *testing.B) {
			bound := wallet.DedupeBound{MaxAge: 7 * 24 * time.Hour, MaxCount: n}
			at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).Unix()
			var acct wallet.Account
			for i := 0; i < n; i++ {
				acct, _ = processors.Apply(acct, processors.Delivery{Instruction: wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Credit, Account: "hot", From: "a", To: "hot", Amount: wallet.Cents(1)}, Offset: int64(i), At: at}, bound)
			}
			ids := make([]uuid.UUID, 1024)
			for i := range ids {
				ids[i] = uuid.New()
			}
			stored, err := topology.AccountCodec.Encode(acct)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var bytes int
			for i := 0; i < b.N; i++ {
				// What the callback does: decode the stored value, apply,
				// encode the new value.
				v, err := topology.AccountCodec.Decode(stored)
				if err != nil {
					b.Fatal(err)
				}
				next, _ := processors.Apply(v.(wallet.Account), processors.Delivery{Instruction: wallet.Instruction{RequestID: ids[i%len(ids)], Kind: wallet.Credit, Account: "hot", From: "a", To: "hot", Amount: wallet.Cents(1)}, Offset: int64(n + i), At: at}, bound)
				if stored, err = topology.AccountCodec.Encode(next); err != nil {
					b.Fatal(err)
				}
				bytes = len(stored)
			}
			b.ReportMetric(float64(bytes), "value-bytes")
		})
	}
}
