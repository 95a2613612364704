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
			r := wallet.Retention{MaxAge: 7 * 24 * time.Hour, MaxCount: n}
			at := time.Now()
			var acct wallet.Account
			for i := 0; i < n; i++ {
				acct, _, _ = processors.Apply(acct, wallet.Payment{RequestID: uuid.NewString(), Account: "hot", Direction: wallet.Incoming, Amount: wallet.Cents(1)}, int64(i), at, r, false)
			}
			ids := make([]string, 1024)
			for i := range ids {
				ids[i] = uuid.NewString()
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
				next, _, err := processors.Apply(v.(wallet.Account), wallet.Payment{RequestID: ids[i%len(ids)], Account: "hot", Direction: wallet.Incoming, Amount: wallet.Cents(1)}, int64(n+i), at, r, false)
				if err != nil {
					b.Fatal(err)
				}
				if stored, err = topology.AccountCodec.Encode(next); err != nil {
					b.Fatal(err)
				}
				bytes = len(stored)
			}
			b.ReportMetric(float64(bytes), "value-bytes")
		})
	}
}
