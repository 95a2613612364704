package processors_test

import (
	"fmt"
	"testing"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/topology"
)

// BenchmarkRecoverAccounts measures what recovering the accountant's
// table costs per changelog record on RocksDB: goka's default (store the
// record) against the readers' checks (Bounds.ReadAccounts, which reads
// the stored version first), for 200,000 records of 10,000 accounts, as a
// takeover replays them.
func BenchmarkRecoverAccounts(b *testing.B) {
	const records, accounts = 200_000, 10_000
	values := make([][]byte, records)
	for i := range values {
		v, err := topology.AccountCodec.Encode(wallet.Account{Balance: wallet.Cents(int64(i)), NextOffset: int64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		values[i] = v
	}
	keys := make([]string, accounts)
	for i := range keys {
		keys[i] = fmt.Sprintf("acct-%05d", i)
	}
	// One partition, whose end is after the last record.
	checked := processors.Bounds{Partitions: 1, End: func(goka.Stream, int32) (int64, error) { return records, nil }}
	for _, update := range []struct {
		name string
		fn   goka.UpdateCallback
	}{{"last-record", goka.DefaultUpdate}, {"checked", checked.ReadAccounts()}} {
		b.Run(update.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				st, err := rocksdb.Builder(b.TempDir(), rocksdb.DefaultOptions())(string(topology.AccountTable), 0)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Open(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for i, v := range values {
					if err := update.fn(updateContext{topology.AccountTable, 0, int64(i)}, st, keys[i%accounts], v); err != nil {
						b.Fatal(err)
					}
					if err := st.SetOffset(int64(i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
