package processors_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// BenchmarkHotAccount measures what the accountant does for one instruction
// to an account, however busy: decode the table value, decide, encode the
// value it writes to RocksDB and the changelog. The value holds no history,
// so the cost does not grow with the account's traffic.
func BenchmarkHotAccount(b *testing.B) {
	ids := make([]uuid.UUID, 1024)
	for i := range ids {
		ids[i] = uuid.New()
	}
	stored, err := topology.AccountCodec.Encode(wallet.Account{Open: true, OverdraftLimit: wallet.Cents(100000)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var bytes int
	for i := 0; b.Loop(); i++ {
		v, err := topology.AccountCodec.Decode(stored)
		if err != nil {
			b.Fatal(err)
		}
		in := wallet.Instruction{RequestID: ids[i%len(ids)], Kind: wallet.Credit, Account: "hot", From: "a", To: "hot", Amount: wallet.Cents(1)}
		next, _ := processors.Apply(v.(wallet.Account), in, int64(i))
		if stored, err = topology.AccountCodec.Encode(next); err != nil {
			b.Fatal(err)
		}
		bytes = len(stored)
	}
	b.ReportMetric(float64(bytes), "value-bytes")
}
