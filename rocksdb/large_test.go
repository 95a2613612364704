package rocksdb

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/linxGnu/grocksdb"
)

// RequestID returns the i-th of a series of keys shaped like paymentd's:
// 16 bytes, scattered.
func RequestID(i uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], i*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(b[8:], i)
	return string(b[:])
}

// FillRequestIDs writes the first n request IDs to st with 40-byte values,
// in batches of 10,000 as staged rounds write them.
func FillRequestIDs(st *Storage, n uint64) error {
	value := make([]byte, 40)
	for from := uint64(0); from < n; from += 10_000 {
		sets := make(map[string][]byte, 10_000)
		for i := from; i < min(from+10_000, n); i++ {
			sets[RequestID(i)] = value
		}
		if err := st.Apply(sets, nil, int64(from)); err != nil {
			return err
		}
	}
	return nil
}

// A table that grows with every transfer, as paymentd's does (one key per
// request ID), is read mostly for keys it does not hold yet. Such a read
// must be answered by a Bloom filter already in memory. With one filter
// block per table file, a file of a million keys has a filter larger than
// a shard of the block cache (8 MiB in 16 shards of 512 KiB), which the
// cache does not keep: every read of a missing key read the whole filter
// from the file again.
func TestMissingKeysOfALargeTableReadNoFilterFromFile(t *testing.T) {
	const keys = 1_000_000
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	if err := FillRequestIDs(st, keys); err != nil {
		t.Fatal(err)
	}
	// One file holds them all, as after the compactions of a long run.
	st.db.CompactRangeCF(st.table, grocksdb.Range{})

	// RocksDB counts a thread's reads in its perf context.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	grocksdb.SetPerfLevel(grocksdb.KEnableCount)
	defer grocksdb.SetPerfLevel(grocksdb.KDisable)
	perf := grocksdb.NewPerfContext()
	defer perf.Destroy()
	const rocksdbBlockReadByte = 3
	missing := func(from uint64, n int) {
		for i := range uint64(n) {
			v, err := st.Get(RequestID(keys + from + i))
			if err != nil || v != nil {
				t.Fatalf("get of a missing key: %q, %v", v, err)
			}
		}
	}
	missing(0, 1000) // the first reads may bring filter blocks into the cache
	perf.Reset()
	const n = 2000
	missing(1000, n)
	// A false positive of the filter (about 1%) reads a data block.
	if read := perf.Metric(rocksdbBlockReadByte) / n; read > 1024 {
		t.Errorf("a get of a missing key read %d bytes from the table files on average; want under 1,024 (the filter in the block cache)", read)
	}
}
