package kafka

import (
	"sync"

	"github.com/lovoo/goka/storage"
)

// staged is a group table's local storage whose writes, once the
// partition has recovered, wait in memory until their transaction
// commits: only then are they written to the storage below, so that it
// holds only committed state. An aborted transaction's writes, or those
// of a process that stops, are dropped with the staged storage. Reads see
// the staged writes first, since the messages after them are decided from
// them.
//
// While the partition recovers, writes go straight through: they come
// from the committed changelog.
type staged struct {
	storage.Storage

	mu        sync.Mutex
	recovered bool
	writes    map[string]stagedWrite
	// offset is the changelog offset of the last staged write, hasOffset
	// whether there is one.
	offset    int64
	hasOffset bool
	// applied is the offset last written below by commit, or -1.
	applied int64
}

type stagedWrite struct {
	value   []byte
	deleted bool
}

func newStaged(st storage.Storage) *staged {
	return &staged{Storage: st, writes: map[string]stagedWrite{}, applied: -1}
}

func (s *staged) Has(key string) (bool, error) {
	s.mu.Lock()
	w, ok := s.writes[key]
	s.mu.Unlock()
	if ok {
		return !w.deleted, nil
	}
	return s.Storage.Has(key)
}

func (s *staged) Get(key string) ([]byte, error) {
	s.mu.Lock()
	w, ok := s.writes[key]
	s.mu.Unlock()
	if ok {
		if w.deleted {
			return nil, nil
		}
		return w.value, nil
	}
	return s.Storage.Get(key)
}

func (s *staged) Set(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recovered {
		return s.Storage.Set(key, value)
	}
	s.writes[key] = stagedWrite{value: value}
	return nil
}

func (s *staged) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recovered {
		return s.Storage.Delete(key)
	}
	s.writes[key] = stagedWrite{deleted: true}
	return nil
}

// SetOffset records the changelog offset of a write. goka calls it once
// the changelog has the write, which in a transaction is before the
// transaction commits; the transactional producer caches the table's
// writes until the commit, so goka does not, and commit gets the offset.
func (s *staged) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recovered {
		return s.Storage.SetOffset(offset)
	}
	if !s.hasOffset || offset > s.offset {
		s.offset, s.hasOffset = offset, true
	}
	return nil
}

func (s *staged) MarkRecovered() error {
	if err := s.Storage.MarkRecovered(); err != nil {
		return err
	}
	s.mu.Lock()
	s.recovered = true
	s.mu.Unlock()
	return nil
}

// applier is a storage that applies several writes and an offset at once,
// as rocksdb.Storage does: a negative offset leaves it as it is.
type applier interface {
	Apply(sets map[string][]byte, deletes []string, offset int64) error
}

// commit writes the staged writes to the storage below, with the
// changelog offset of the last of them: offset, the last changelog record
// of the committed transaction (the producer caches the table's writes
// and sends them at the commit, so goka sets no offset), or the one set by
// SetOffset if greater; a negative offset, or one already written, is
// none. Without an applier the values go before the offset: a crash in
// between leaves the offset behind the values, and the restart's recovery
// reads those records again from the changelog, which has them.
func (s *staged) commit(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset > s.applied && (!s.hasOffset || offset > s.offset) {
		s.offset, s.hasOffset = offset, true
	}
	if len(s.writes) == 0 && !s.hasOffset {
		return nil
	}
	offset = -1
	if s.hasOffset {
		offset = s.offset
	}
	if a, ok := s.Storage.(applier); ok {
		sets := make(map[string][]byte, len(s.writes))
		var deletes []string
		for key, w := range s.writes {
			if w.deleted {
				deletes = append(deletes, key)
			} else {
				sets[key] = w.value
			}
		}
		if err := a.Apply(sets, deletes, offset); err != nil {
			return err
		}
	} else {
		for key, w := range s.writes {
			var err error
			if w.deleted {
				err = s.Storage.Delete(key)
			} else {
				err = s.Storage.Set(key, w.value)
			}
			if err != nil {
				return err
			}
		}
		if offset >= 0 {
			if err := s.Storage.SetOffset(offset); err != nil {
				return err
			}
		}
	}
	clear(s.writes)
	s.hasOffset = false
	s.applied = max(s.applied, offset)
	return nil
}

// Close drops the writes not committed and closes the storage below.
func (s *staged) Close() error {
	s.mu.Lock()
	clear(s.writes)
	s.hasOffset = false
	s.mu.Unlock()
	return s.Storage.Close()
}
