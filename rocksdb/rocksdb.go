// Package rocksdb stores goka tables in RocksDB.
//
// It implements goka's storage.Storage, so processors and views can keep
// their local copy of a table in RocksDB instead of goka's default LevelDB:
//
//	goka.WithStorageBuilder(rocksdb.Builder(stateDir, rocksdb.DefaultOptions()))
//	goka.WithViewStorageBuilder(rocksdb.Builder(stateDir, rocksdb.DefaultOptions()))
//
// Each topic partition is one database. Table keys live in the default
// column family; the partition offset lives in a separate column family,
// so no table key can collide with it and iterators never see it.
//
// Writes bypass RocksDB's write-ahead log: every table kept here is a
// copy of a changelog, which a restart reads from the stored offset on, so
// what the log would save after a crash is read from Kafka instead, and
// the log's write is what costs. A crash loses the writes since the last
// flush, table and offset alike, and the database reopens at the state of
// that flush. MarkRecovered flushes what recovery wrote, so that a crash
// soon after does not read it all again; Close flushes. The offset is
// written to the database only every 1000th SetOffset (and by Apply,
// MarkRecovered and Close): goka sets it after every changelog write, and
// a stored offset that lags only makes a restart replay up to that many
// changelog records, which brings the table to the changelog's head all
// the same.
//
// An offset is always written after the table writes it covers, or in the
// same write batch (Apply), and the two column families are flushed
// atomically, so what a crash leaves is a prefix of the writes: a process
// that crashes at any point restarts with an offset that is never ahead of
// the table it has on disk; at worst it replays some messages, which
// rewrites the same values. That holds because no write uses the log: a
// logged offset replayed after a crash could cover unlogged writes that
// were lost.
//
// A database found damaged, at open or while in use, is moved aside at
// its next open and replaced by an empty one, which goka recovers from the
// changelog; Options.OnCorrupt lets a view open itself again. LockDir
// keeps two processes out of one state directory.
package rocksdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/linxGnu/grocksdb"
	"github.com/lovoo/goka/storage"
)

const (
	offsetFamily = "offset"
	offsetKey    = "offset"

	// offsetInterval is how many SetOffset calls share one write of the
	// offset. A crash replays at most this many changelog records more than
	// it would otherwise.
	offsetInterval = 1000
)

var _ storage.Storage = (*Storage)(nil)

// Storage is a goka storage.Storage backed by one RocksDB database.
//
// It is safe for concurrent use, including by several writers: goka's
// processors call Set from the partition's goroutine and SetOffset from
// the producer's callback.
type Storage struct {
	path  string
	cache *sharedCache

	// mu guards the native handles. Reads and writes hold it shared, which
	// lets them run concurrently; Close and MarkRecovered hold it
	// exclusively, so no operation can use a handle while it is freed or
	// while the memtables are flushed.
	mu        sync.RWMutex
	closed    bool
	recovered bool
	db        *grocksdb.DB
	table     *grocksdb.ColumnFamilyHandle
	offset    *grocksdb.ColumnFamilyHandle
	ro        *grocksdb.ReadOptions
	wo        *grocksdb.WriteOptions // without the write-ahead log
	fo        *grocksdb.FlushOptions

	// corrupt is set, once, by the first operation that finds the
	// database damaged; every operation after it fails with it, so that
	// nothing more is read from or written to a database that will be
	// moved aside, the values in recent and the offset included.
	corrupt atomic.Pointer[corruptError]
	// onCorrupt is Options.OnCorrupt.
	onCorrupt func(dir string)

	// offsetMu guards the offset as last set, or as loaded when opening,
	// and the number of SetOffset calls not yet written. Writes of the
	// offset happen with it held, so the database never gets an older
	// offset after a newer one.
	offsetMu  sync.Mutex
	offsetVal int64
	hasOffset bool
	unsaved   int

	// recent holds the values last written, so that most reads skip
	// RocksDB.
	recent *recent

	// itersMu guards iters, the iterators not yet released. Close releases
	// them, because RocksDB must not be closed under a live iterator.
	itersMu sync.Mutex
	iters   map[*iterator]struct{}
}

// Builder returns a goka storage.Builder that opens one database per topic
// partition, in the directory filepath.Join(dir, "<topic>.<partition>").
// Directories are created as needed. All partitions share one block cache
// of opts.BlockCacheBytes.
func Builder(dir string, opts Options) storage.Builder {
	opts, optsErr := opts.withDefaults()
	cache := newSharedCache(opts.BlockCacheBytes)
	return func(topic string, partition int32) (storage.Storage, error) {
		if optsErr != nil {
			return nil, optsErr
		}
		path := filepath.Join(dir, fmt.Sprintf("%s.%d", topic, partition))
		st, err := open(path, opts, cache)
		if err != nil {
			// Not st: a nil *Storage in a storage.Storage is not nil.
			return nil, err
		}
		return st, nil
	}
}

// Open opens, creating it if needed, the database in the directory path,
// with its own block cache.
//
// If the directory is in use by another process, or by another open
// Storage in this process, the error wraps ErrLocked.
func Open(path string, opts Options) (*Storage, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return open(path, opts, newSharedCache(opts.BlockCacheBytes))
}

// open opens the database in path. A database found damaged, at open or
// by an earlier storage (the marker it left), is moved aside and replaced
// by an empty one, which has no offset: goka then recovers the partition
// from the oldest offset of its changelog.
func open(path string, opts Options, cache *sharedCache) (*Storage, error) {
	st, err := openDB(path, opts, cache)
	var corrupt *corruptError
	if !errors.As(err, &corrupt) {
		return st, err
	}
	if err := quarantine(path, corrupt.cause); err != nil {
		return nil, fmt.Errorf("rocksdb open %s: %w", path, err)
	}
	return openDB(path, opts, cache)
}

// openDB opens the database in path, or returns a *corruptError if it is
// damaged.
func openDB(path string, opts Options, cache *sharedCache) (*Storage, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("rocksdb open: %w", err)
	}

	dbOpts := newDBOptions(opts, cache.acquire())
	defer dbOpts.Destroy()
	db, handles, err := grocksdb.OpenDbColumnFamilies(dbOpts, path,
		[]string{"default", offsetFamily},
		[]*grocksdb.Options{dbOpts, dbOpts})
	if err != nil {
		cache.release()
		if isLockError(err) {
			return nil, &lockedError{dir: path, cause: err}
		}
		if isCorruption(err) {
			return nil, &corruptError{dir: path, cause: err}
		}
		return nil, fmt.Errorf("rocksdb open %s: %w", path, err)
	}

	ro := grocksdb.NewDefaultReadOptions()
	closeAll := func() {
		ro.Destroy()
		handles[0].Destroy()
		handles[1].Destroy()
		db.Close()
		cache.release()
	}
	// The marker is read only now that RocksDB holds the directory's lock,
	// so that a directory in use elsewhere is never moved.
	cause, marked, err := readMarker(path)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("rocksdb open %s: %w", path, err)
	}
	if marked {
		closeAll()
		return nil, &corruptError{dir: path, cause: errors.New(strings.TrimSpace(cause))}
	}
	offset, hasOffset, err := loadOffset(db, ro, handles[1])
	if err != nil {
		closeAll()
		if isCorruption(errors.Unwrap(err)) {
			return nil, &corruptError{dir: path, cause: err}
		}
		return nil, fmt.Errorf("rocksdb open %s: %w", path, err)
	}

	wo := grocksdb.NewDefaultWriteOptions()
	wo.DisableWAL(true)
	fo := grocksdb.NewDefaultFlushOptions()
	fo.SetWait(true)

	return &Storage{
		path:      path,
		cache:     cache,
		db:        db,
		table:     handles[0],
		offset:    handles[1],
		ro:        ro,
		wo:        wo,
		fo:        fo,
		offsetVal: offset,
		hasOffset: hasOffset,
		onCorrupt: opts.OnCorrupt,
		recent:    newRecent(opts.RecentBytes),
		iters:     make(map[*iterator]struct{}),
	}, nil
}

// loadOffset reads the stored offset, if any.
func loadOffset(db *grocksdb.DB, ro *grocksdb.ReadOptions, cf *grocksdb.ColumnFamilyHandle) (offset int64, ok bool, err error) {
	h, err := db.GetPinnedCF(ro, cf, []byte(offsetKey))
	if err != nil {
		return 0, false, fmt.Errorf("read offset: %w", err)
	}
	if !h.Exists() {
		return 0, false, nil
	}
	defer h.Destroy()
	offset, err = strconv.ParseInt(string(h.Data()), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("read offset: %w", err)
	}
	return offset, true, nil
}

// Open does nothing: the database is opened by Open or the Builder. It
// exists to satisfy storage.Storage.
func (s *Storage) Open() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb open %s: %w", s.path, err)
	}
	return nil
}

// Close flushes the memtables (no write-ahead log holds them), closes the
// database and frees every native object, including iterators not yet
// released. Closing a closed storage does nothing.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true

	s.itersMu.Lock()
	for it := range s.iters {
		it.free()
		it.interrupted = true
	}
	s.iters = nil
	s.itersMu.Unlock()

	// RocksDB would flush on close too, but silently; flushing here reports
	// errors and keeps the table-before-offset order. A corrupt database
	// gets nothing more: it is moved aside when next opened.
	var err error
	if s.corrupt.Load() == nil {
		err = s.writePendingOffset()
		if err == nil {
			err = s.flush()
		}
	}

	s.table.Destroy()
	s.offset.Destroy()
	s.db.Close()
	s.ro.Destroy()
	s.wo.Destroy()
	s.fo.Destroy()
	s.cache.release()
	return err
}

// unusable returns why the storage may not be used, or nil: it is closed,
// or its database was found damaged. The caller holds s.mu.
func (s *Storage) unusable() error {
	if s.closed {
		return ErrClosed
	}
	if c := s.corrupt.Load(); c != nil {
		return c
	}
	return nil
}

// checked returns err, an error of RocksDB. If err says that the database
// is damaged, checked marks the storage corrupt, and its directory too, so
// that the next open moves it aside (goka fails the processor on the
// error, and the processor's restart opens the partition again); it then
// returns the *corruptError, which wraps ErrCorrupt.
func (s *Storage) checked(err error) error {
	if err == nil || !isCorruption(err) {
		return err
	}
	c := &corruptError{dir: s.path, cause: err}
	if !s.corrupt.CompareAndSwap(nil, c) {
		return s.corrupt.Load()
	}
	if err := markCorrupt(s.path, err); err != nil {
		return errors.Join(c, err)
	}
	if s.onCorrupt != nil {
		// After the marker, which the next open acts on; and not under
		// the caller's locks: the callback stops whatever holds this
		// storage, which closes it.
		go s.onCorrupt(s.path)
	}
	return c
}

// flush writes the memtables to disk, the table before the offset, so that
// a crash between the two leaves the offset behind the table, never ahead.
func (s *Storage) flush() error {
	if err := s.db.FlushCF(s.table, s.fo); err != nil {
		return fmt.Errorf("rocksdb flush %s: %w", s.path, s.checked(err))
	}
	if err := s.db.FlushCF(s.offset, s.fo); err != nil {
		return fmt.Errorf("rocksdb flush %s: %w", s.path, s.checked(err))
	}
	return nil
}

// MarkRecovered flushes everything written during recovery, so that a
// crash soon after does not make the next start recover it again. Readers
// wait for the flush, which takes as long as writing two memtables.
// Calling it again does nothing.
func (s *Storage) MarkRecovered() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb mark recovered %s: %w", s.path, err)
	}
	if s.recovered {
		return nil
	}
	if err := s.writePendingOffset(); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	s.recovered = true
	return nil
}

// Has reports whether key is in the table.
func (s *Storage) Has(key string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return false, fmt.Errorf("rocksdb has %q: %w", key, err)
	}
	if _, ok := s.recent.get(key); ok {
		return true, nil
	}
	v, err := s.get(s.table, []byte(key))
	if err != nil {
		return false, fmt.Errorf("rocksdb has %q: %w", key, s.checked(err))
	}
	return v != nil, nil
}

// Get returns a copy of the value of key, or nil if key is not in the
// table. A key stored with an empty or nil value returns an empty,
// non-nil slice.
func (s *Storage) Get(key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return nil, fmt.Errorf("rocksdb get %q: %w", key, err)
	}
	if v, ok := s.recent.get(key); ok {
		return v, nil
	}
	v, err := s.get(s.table, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("rocksdb get %q: %w", key, s.checked(err))
	}
	return v, nil
}

// get returns a copy of the value of key in family cf, or nil if it is
// missing. The caller holds s.mu.
func (s *Storage) get(cf *grocksdb.ColumnFamilyHandle, key []byte) ([]byte, error) {
	// A pinned get reads straight from the block cache or memtable, and
	// tells a missing key (nil handle) from an empty value.
	h, err := s.db.GetPinnedCF(s.ro, cf, key)
	if err != nil {
		return nil, err
	}
	if !h.Exists() {
		return nil, nil
	}
	defer h.Destroy()
	data := h.Data()
	v := make([]byte, len(data))
	copy(v, data)
	return v, nil
}

// Set stores value under key. A nil value is stored as an empty one.
func (s *Storage) Set(key string, value []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb set %q: %w", key, err)
	}
	if err := s.db.PutCF(s.wo, s.table, []byte(key), value); err != nil {
		s.recent.delete(key)
		return fmt.Errorf("rocksdb set %q: %w", key, s.checked(err))
	}
	s.recent.set(key, value)
	return nil
}

// Delete removes key from the table. Deleting a missing key is not an
// error.
func (s *Storage) Delete(key string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb delete %q: %w", key, err)
	}
	s.recent.delete(key)
	if err := s.db.DeleteCF(s.wo, s.table, []byte(key)); err != nil {
		return fmt.Errorf("rocksdb delete %q: %w", key, s.checked(err))
	}
	return nil
}

// Apply sets the values of sets, deletes the keys of deletes and, unless
// offset is negative, sets the offset, all at once: a crash leaves all of
// them or none. A processor applies a transaction's table writes this way
// once the transaction has committed (kafka.Transactions).
func (s *Storage) Apply(sets map[string][]byte, deletes []string, offset int64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb apply: %w", err)
	}
	b := grocksdb.NewWriteBatch()
	defer b.Destroy()
	for key, value := range sets {
		b.PutCF(s.table, []byte(key), value)
	}
	for _, key := range deletes {
		b.DeleteCF(s.table, []byte(key))
	}
	s.offsetMu.Lock()
	defer s.offsetMu.Unlock()
	if offset >= 0 {
		b.PutCF(s.offset, []byte(offsetKey), strconv.AppendInt(nil, offset, 10))
	}
	if err := s.db.Write(s.wo, b); err != nil {
		for key := range sets {
			s.recent.delete(key)
		}
		return fmt.Errorf("rocksdb apply %d writes at offset %d: %w", len(sets)+len(deletes), offset, s.checked(err))
	}
	for key, value := range sets {
		s.recent.set(key, value)
	}
	for _, key := range deletes {
		s.recent.delete(key)
	}
	if offset >= 0 {
		s.offsetVal, s.hasOffset, s.unsaved = offset, true, 0
	}
	return nil
}

// GetOffset returns the offset last set, or def if none was ever set.
func (s *Storage) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return 0, fmt.Errorf("rocksdb get offset: %w", err)
	}
	s.offsetMu.Lock()
	defer s.offsetMu.Unlock()
	if !s.hasOffset {
		return def, nil
	}
	return s.offsetVal, nil
}

// SetOffset sets the offset. It is stored in decimal, like goka's LevelDB
// storage does. Every 1000th call writes it to the database, and
// MarkRecovered and Close write the last one.
func (s *Storage) SetOffset(offset int64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return fmt.Errorf("rocksdb set offset %d: %w", offset, err)
	}
	s.offsetMu.Lock()
	defer s.offsetMu.Unlock()
	s.offsetVal, s.hasOffset = offset, true
	s.unsaved++
	if s.unsaved < offsetInterval {
		return nil
	}
	return s.writeOffset()
}

// writePendingOffset writes the offset if SetOffset has not. The caller
// holds s.mu.
func (s *Storage) writePendingOffset() error {
	s.offsetMu.Lock()
	defer s.offsetMu.Unlock()
	if s.unsaved == 0 {
		return nil
	}
	return s.writeOffset()
}

// writeOffset writes the offset. The caller holds s.mu and s.offsetMu.
func (s *Storage) writeOffset() error {
	v := strconv.AppendInt(nil, s.offsetVal, 10)
	if err := s.db.PutCF(s.wo, s.offset, []byte(offsetKey), v); err != nil {
		return fmt.Errorf("rocksdb set offset %d: %w", s.offsetVal, s.checked(err))
	}
	s.unsaved = 0
	return nil
}

// Iterator returns an iterator over all keys of the table, in byte order,
// as they were when Iterator was called. It does not fill the block cache,
// so a full scan does not evict the blocks that Get needs.
func (s *Storage) Iterator() (storage.Iterator, error) {
	it, err := s.newIterator(nil, nil, false)
	if err != nil {
		return nil, fmt.Errorf("rocksdb iterator: %w", err)
	}
	return it, nil
}

// IteratorWithRange returns an iterator over the keys in [start, limit),
// in byte order, as they were when IteratorWithRange was called. A nil
// start is unbounded. A nil or empty limit makes start a prefix: the
// iterator covers the keys that begin with start (all keys if start is
// also empty). This is what goka's LevelDB and memory storages do, despite
// the storage.Storage documentation calling a nil limit unbounded.
func (s *Storage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	if len(limit) == 0 {
		limit = prefixLimit(start)
	}
	it, err := s.newIterator(start, limit, true)
	if err != nil {
		return nil, fmt.Errorf("rocksdb iterator [%q, %q): %w", start, limit, err)
	}
	return it, nil
}

// prefixLimit returns the smallest key greater than every key that starts
// with prefix, or nil if there is none (prefix is empty or all 0xff).
func prefixLimit(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			limit := make([]byte, i+1)
			copy(limit, prefix)
			limit[i]++
			return limit
		}
	}
	return nil
}

func (s *Storage) newIterator(start, limit []byte, fillCache bool) (*iterator, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.unusable(); err != nil {
		return nil, err
	}
	it := &iterator{
		s: s,
		// Copies: RocksDB keeps a pointer to the limit, and the caller may
		// reuse its slices.
		start: clone(start),
		limit: clone(limit),
		ro:    grocksdb.NewDefaultReadOptions(),
	}
	it.ro.SetFillCache(fillCache)
	if it.limit != nil {
		it.ro.SetIterateUpperBound(it.limit)
	}
	// Without an explicit snapshot a RocksDB iterator reads the database as
	// of its creation, which is the isolation goka asks for; a separate
	// grocksdb.Snapshot would only be one more native object to free.
	it.it = s.db.NewIteratorCF(it.ro, s.table)

	s.itersMu.Lock()
	s.iters[it] = struct{}{}
	s.itersMu.Unlock()
	return it, nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
