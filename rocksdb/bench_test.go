package rocksdb_test

import (
	"fmt"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/wallet/wallet/rocksdb"
)

// benchKeys is the number of distinct keys in the Set and Get benchmarks:
// about 11 MB of keys and values, more than one RocksDB memtable or block
// cache.
const benchKeys = 100_000

func benchKey(i int) string { return fmt.Sprintf("account-%d", i) }

// benchValue returns a 100-byte value that looks like an account record.
func benchValue(i int) []byte {
	v := fmt.Sprintf(`{"id":"account-%d","balance":"%d.00","currency":"EUR","version":%d,"status":"open"}`, i, i*37%100000, i)
	for len(v) < 100 {
		v += " "
	}
	return []byte(v[:100])
}

// benchStorage is one implementation under benchmark.
type benchStorage struct {
	name string
	open func(b *testing.B, dir string) storage.Storage
}

var benchStorages = []benchStorage{
	{"rocksdb", func(b *testing.B, dir string) storage.Storage {
		st, err := rocksdb.Open(dir, rocksdb.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
	{"leveldb", func(b *testing.B, dir string) storage.Storage {
		// goka's default: storage.DefaultBuilder opens LevelDB like this.
		db, err := leveldb.OpenFile(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := storage.New(db)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
	{"memory", func(b *testing.B, dir string) storage.Storage {
		return storage.NewMemory()
	}},
}

// filled returns a recovered storage holding benchKeys keys. It lives
// until owner ends, so that the runs of a benchmark with growing b.N
// share it.
func filled(b, owner *testing.B, bs benchStorage) storage.Storage {
	b.Helper()
	st := bs.open(b, owner.TempDir())
	if err := st.Open(); err != nil {
		b.Fatal(err)
	}
	owner.Cleanup(func() {
		if err := st.Close(); err != nil {
			owner.Error(err)
		}
	})
	for i := range benchKeys {
		if err := st.Set(benchKey(i), benchValue(i)); err != nil {
			b.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.MarkRecovered(); err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkStorage(b *testing.B) {
	// Set and Get run on recovered storages, as a processor after startup:
	// Set overwrites existing accounts in a scattered order, Get reads
	// them. Filling happens once per storage, outside the timings.
	b.Run("Set", func(parent *testing.B) {
		for _, bs := range benchStorages {
			var st storage.Storage
			parent.Run(bs.name, func(b *testing.B) {
				if st == nil {
					st = filled(b, parent, bs)
				}
				value := benchValue(0)
				b.ResetTimer()
				for i := range b.N {
					if err := st.Set(benchKey(i*7919%benchKeys), value); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("Get", func(parent *testing.B) {
		for _, bs := range benchStorages {
			var st storage.Storage
			parent.Run(bs.name, func(b *testing.B) {
				if st == nil {
					st = filled(b, parent, bs)
				}
				b.ResetTimer()
				for i := range b.N {
					v, err := st.Get(benchKey(i * 7919 % benchKeys))
					if err != nil || v == nil {
						b.Fatalf("Get: %q, %v", v, err)
					}
				}
			})
		}
	})
	// Recover1M is what goka does when a partition starts with an empty
	// local table: for each message of the changelog, in order, Set then
	// SetOffset; then MarkRecovered. Each iteration recovers one fresh
	// storage; opening and closing it are not timed.
	b.Run("Recover1M", func(b *testing.B) {
		const n = 1_000_000
		for _, bs := range benchStorages {
			b.Run(bs.name, func(b *testing.B) {
				if bs.name == "memory" {
					b.Skip("goka's memory storage sorts its key slice on every new key: 100,000 keys take about 24 s, 1,000,000 would take about 40 min")
				}
				values := make([][]byte, 1000)
				for i := range values {
					values[i] = benchValue(i)
				}
				for range b.N {
					b.StopTimer()
					st := bs.open(b, b.TempDir())
					if err := st.Open(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					for i := range n {
						if err := st.Set(benchKey(i), values[i%len(values)]); err != nil {
							b.Fatal(err)
						}
						if err := st.SetOffset(int64(i)); err != nil {
							b.Fatal(err)
						}
					}
					if err := st.MarkRecovered(); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := st.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
			})
		}
	})
}

// BenchmarkLargeTable reads a table of a million request IDs, the size
// paymentd's table reaches in each of two partitions after two million
// transfers: Missing is the read of every new request, Present a read of
// an old one. The table is written once, in batches as staged rounds
// write it, and left as RocksDB's own flushes and compactions leave it.
func BenchmarkLargeTable(b *testing.B) {
	const keys = 1_000_000
	st, err := rocksdb.Open(b.TempDir(), rocksdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Open(); err != nil {
		b.Fatal(err)
	}
	if err := st.MarkRecovered(); err != nil {
		b.Fatal(err)
	}
	if err := rocksdb.FillRequestIDs(st, keys); err != nil {
		b.Fatal(err)
	}
	b.Run("Missing", func(b *testing.B) {
		for i := range b.N {
			if v, err := st.Get(rocksdb.RequestID(keys + uint64(i))); err != nil || v != nil {
				b.Fatalf("Get: %q, %v", v, err)
			}
		}
	})
	b.Run("Present", func(b *testing.B) {
		for i := range b.N {
			if v, err := st.Get(rocksdb.RequestID(uint64(i) * 7919 % keys)); err != nil || v == nil {
				b.Fatalf("Get: %q, %v", v, err)
			}
		}
	})
}
