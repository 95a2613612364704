package rocksdb

import (
	"bytes"
	"fmt"

	"github.com/linxGnu/grocksdb"
)

// iterator is a storage.Iterator over a range of the table column family.
//
// Like goka's iterators it starts before the first key: Next moves to the
// first key, and Seek moves to the first key at or after its argument, so
// that Key and Value are valid right after a successful Seek. Key and
// Value return copies, so they stay valid after the iterator moves or is
// released.
//
// An iterator must be used by one goroutine at a time; different
// iterators, and the storage, may be used concurrently.
type iterator struct {
	s     *Storage
	start []byte // first key of the range, nil if unbounded
	limit []byte // end of the range (exclusive), nil if unbounded; ro points to it
	ro    *grocksdb.ReadOptions
	it    *grocksdb.Iterator

	// Guarded by s.mu: read with it held shared, written by Close with it
	// held exclusively.
	started     bool
	released    bool
	interrupted bool // released by Close rather than by Release
}

// usable reports whether the native iterator may be used. The caller
// holds s.mu shared.
func (i *iterator) usable() bool {
	return !i.released && !i.s.closed
}

// Next moves to the next key and reports whether there is one.
func (i *iterator) Next() bool {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if !i.usable() {
		return false
	}
	switch {
	case !i.started:
		i.started = true
		if i.start != nil {
			i.it.Seek(i.start)
		} else {
			i.it.SeekToFirst()
		}
	case i.it.Valid():
		// RocksDB requires a valid iterator for Next.
		i.it.Next()
	default:
		return false
	}
	return i.it.Valid()
}

// Seek moves to the first key in the range at or after key, and reports
// whether there is one. Seeking before the start of the range moves to its
// first key. Unlike goka's memory storage, Seek may move backwards.
func (i *iterator) Seek(key []byte) bool {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if !i.usable() {
		return false
	}
	i.started = true
	if i.start != nil && bytes.Compare(key, i.start) < 0 {
		key = i.start
	}
	i.it.Seek(key)
	return i.it.Valid()
}

// Key returns a copy of the current key, or nil if the iterator is not at
// a key.
func (i *iterator) Key() []byte {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if !i.usable() || !i.started || !i.it.Valid() {
		return nil
	}
	return copySlice(i.it.Key())
}

// Value returns a copy of the current value, or nil if the iterator is not
// at a key.
func (i *iterator) Value() ([]byte, error) {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if !i.usable() || !i.started || !i.it.Valid() {
		return nil, nil
	}
	return copySlice(i.it.Value()), nil
}

// Err returns the error that ended the iteration, if any. Iterating a
// storage closed under the iterator ends with ErrClosed.
func (i *iterator) Err() error {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if i.interrupted {
		return fmt.Errorf("rocksdb iterator: %w", ErrClosed)
	}
	if i.released {
		return nil
	}
	if err := i.it.Err(); err != nil {
		return fmt.Errorf("rocksdb iterator: %w", i.s.checked(err))
	}
	return nil
}

// Release frees the iterator. Releasing it twice, or after the storage is
// closed, does nothing.
func (i *iterator) Release() {
	i.s.mu.RLock()
	defer i.s.mu.RUnlock()
	if i.released {
		return
	}
	i.free()
	i.s.itersMu.Lock()
	delete(i.s.iters, i)
	i.s.itersMu.Unlock()
}

// free destroys the native objects. The caller holds s.mu, and either owns
// the iterator or holds s.mu exclusively.
func (i *iterator) free() {
	i.released = true
	i.it.Close()
	i.ro.Destroy()
}

// copySlice copies the bytes of a slice owned by the native iterator.
func copySlice(s *grocksdb.Slice) []byte {
	if s == nil {
		return []byte{}
	}
	data := s.Data()
	b := make([]byte, len(data))
	copy(b, data)
	return b
}
