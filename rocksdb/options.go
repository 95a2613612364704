package rocksdb

import (
	"fmt"
	"sync"

	"github.com/linxGnu/grocksdb"
)

// Options configures a RocksDB storage. A zero field selects its default,
// so Options{} and DefaultOptions() open identical databases.
//
// The defaults suit a small machine (2 cores, a few hundred MiB for the
// whole process) that holds a few dozen partitions: memory is dominated by
// WriteBufferBytes and RecentBytes per partition, plus one BlockCacheBytes
// per Builder, plus the table files' indexes and Bloom filters, about 1.5
// bytes a key (15 MiB for ten million keys).
type Options struct {
	// BlockCacheBytes is the capacity of the LRU cache for data blocks.
	// Default 8 MiB.
	//
	// All partitions opened by one Builder share one cache, so the figure
	// bounds the whole table rather than each partition. The cache is
	// freed when the last partition using it is closed; a later partition
	// gets a new one. Open gives each database its own cache.
	BlockCacheBytes int64

	// WriteBufferBytes is the size of one memtable. A database has two
	// column families (table and offset) with up to two memtables each,
	// but the offset family holds a single small key and is flushed
	// together with the table, so a partition needs about twice this
	// figure. Larger buffers mean fewer, larger flushes during recovery.
	// Default 8 MiB.
	WriteBufferBytes int64

	// MaxOpenFiles limits the table files each database keeps open; -1
	// keeps all of them open. A file opened again reads its index and
	// filter again. Default 256, about 16 GiB of table a partition.
	MaxOpenFiles int

	// BackgroundJobs is the number of concurrent flushes and compactions.
	// RocksDB runs them in a thread pool shared by every database in the
	// process, so this is in effect a process-wide setting. Default 2,
	// one per core.
	BackgroundJobs int

	// RecentBytes bounds the memory each partition keeps of the values
	// last written, which reads find without RocksDB (a cgo call that may
	// read and decompress a block). A transfer's outcome reads what its
	// request wrote, a few commits later. Default 2 MiB, about 15,000 of
	// paymentd's values (about 140 bytes each as counted). Four to sixteen
	// times as much, tried at 200,000 transfers preloaded (when paymentd
	// runs far ahead of the accountant and its outcomes' reads miss this),
	// made no difference in throughput beyond the noise, for 100-200 MiB
	// more resident memory (docs/BENCHMARKS.md, "paymentd's reads in the
	// preloaded benchmark").
	RecentBytes int64

	// OnCorrupt, if set, is called with a partition's directory when a
	// storage in use finds its database damaged. Processors need not set
	// it (goka stops a processor whose storage fails, and the next open
	// heals); a view does, to open itself again (views.Rebuild).
	OnCorrupt func(dir string)
}

// DefaultOptions returns the options used for zero fields.
func DefaultOptions() Options {
	return Options{
		BlockCacheBytes:  8 << 20,
		WriteBufferBytes: 8 << 20,
		MaxOpenFiles:     256,
		BackgroundJobs:   2,
		RecentBytes:      2 << 20,
	}
}

// withDefaults returns o with zero fields replaced by defaults, or an error
// if a field is out of range.
func (o Options) withDefaults() (Options, error) {
	def := DefaultOptions()
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = def.BlockCacheBytes
	}
	if o.WriteBufferBytes == 0 {
		o.WriteBufferBytes = def.WriteBufferBytes
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = def.MaxOpenFiles
	}
	if o.BackgroundJobs == 0 {
		o.BackgroundJobs = def.BackgroundJobs
	}
	if o.RecentBytes == 0 {
		o.RecentBytes = def.RecentBytes
	}
	switch {
	case o.BlockCacheBytes < 0:
		return o, fmt.Errorf("rocksdb options: BlockCacheBytes %d is negative", o.BlockCacheBytes)
	case o.WriteBufferBytes < 0:
		return o, fmt.Errorf("rocksdb options: WriteBufferBytes %d is negative", o.WriteBufferBytes)
	case o.MaxOpenFiles < -1:
		return o, fmt.Errorf("rocksdb options: MaxOpenFiles %d is below -1", o.MaxOpenFiles)
	case o.BackgroundJobs < 0:
		return o, fmt.Errorf("rocksdb options: BackgroundJobs %d is negative", o.BackgroundJobs)
	case o.RecentBytes < 0:
		return o, fmt.Errorf("rocksdb options: RecentBytes %d is negative", o.RecentBytes)
	}
	return o, nil
}

// newDBOptions builds the native options for the database and both of its
// column families. The caller destroys the result once the database is
// open: RocksDB copies options when it opens a database, and the table
// options (and the cache reference they hold) are copied here.
func newDBOptions(o Options, cache *grocksdb.Cache) *grocksdb.Options {
	table := grocksdb.NewDefaultBlockBasedTableOptions()
	defer table.Destroy()
	table.SetBlockCache(cache)
	// Has and Get of missing keys are common (a new account, a first
	// event, every new request ID); a Bloom filter answers most of them
	// without reading a block. The table options take ownership of the
	// policy.
	table.SetFilterPolicy(grocksdb.NewBloomFilterFull(10))
	// Each file's index and filter stay in memory with the open file, out
	// of the block cache (RocksDB's default, and Kafka Streams'). In the
	// cache, a file's filter larger than a shard of it (1.2 MiB for a
	// million keys, shards of 512 KiB at 8 MiB) was not kept, so a table
	// that grows with every transfer, as paymentd's does, read the filter
	// from the file for every missing key: 95 µs a read at a million keys
	// in one file, 1.2 ms at three million. They take about 1.5 bytes a
	// key of memory, which grows with the table (docs/STORAGE.md).
	table.SetCacheIndexAndFilterBlocks(false)

	opts := grocksdb.NewDefaultOptions()
	opts.SetCreateIfMissing(true)
	opts.SetCreateIfMissingColumnFamilies(true)
	opts.SetBlockBasedTableFactory(table)

	// Damage is found early enough to be cheap (rocksdb/quarantine.go
	// moves a damaged database aside). Open checks that every table file
	// is there with the size recorded for it (RocksDB's default), which
	// finds a truncated or deleted file. Paranoid checks (the default too,
	// set here for the reader) make damage met by a flush or compaction
	// stop writes, which then fail with RocksDB's Corruption error, rather
	// than go on. A garbled block is found by its checksum when it is
	// read. Reading every block at open would find it earlier, but costs
	// 0.7 s per million keys against 13 ms for the open itself.
	opts.SetParanoidChecks(true)

	// Writes skip the write-ahead log. Atomic flush makes every automatic
	// flush persist both column families at the same point, so what
	// survives a crash is a prefix of the writes and the stored offset is
	// never ahead of the stored table.
	opts.SetAtomicFlush(true)

	opts.SetWriteBufferSize(uint64(o.WriteBufferBytes))
	// A Bloom filter of whole keys in each memtable answers most reads of
	// a missing key (every new request ID) without searching the memtable,
	// as the table files' filters do for them.
	opts.SetMemTablePrefixBloomSizeRatio(0.1)
	opts.SetMemtableWholeKeyFiltering(true)
	opts.SetMaxWriteBufferNumber(2)
	opts.SetMaxOpenFiles(o.MaxOpenFiles)
	opts.SetMaxBackgroundJobs(o.BackgroundJobs)
	opts.SetLevelCompactionDynamicLevelBytes(true)
	// LZ4 costs little CPU, which is the scarce resource on two cores.
	opts.SetCompression(grocksdb.LZ4Compression)
	// Spread writeback of new files instead of stalling on one large sync.
	opts.SetBytesPerSync(1 << 20)
	// Keep RocksDB's own LOG files from filling the state directory.
	opts.SetMaxLogFileSize(1 << 20)
	opts.SetKeepLogFileNum(2)
	return opts
}

// sharedCache is a block cache shared by the databases of one Builder.
// It is created by the first database and destroyed when the last one is
// closed, because a storage.Builder has no Close of its own.
type sharedCache struct {
	capacity uint64

	mu    sync.Mutex
	refs  int
	cache *grocksdb.Cache
}

func newSharedCache(capacity int64) *sharedCache {
	return &sharedCache{capacity: uint64(capacity)}
}

// acquire returns the cache, creating it if needed. Every acquire must be
// matched by one release.
func (c *sharedCache) acquire() *grocksdb.Cache {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = grocksdb.NewLRUCache(c.capacity)
	}
	c.refs++
	return c.cache
}

// release drops one reference. RocksDB itself reference-counts the cache,
// so destroying our handle while a table factory still holds it is safe;
// what matters is that the last handle is destroyed exactly once.
func (c *sharedCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs--
	if c.refs == 0 {
		c.cache.Destroy()
		c.cache = nil
	}
}
