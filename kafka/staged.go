package kafka

import (
	"errors"
	"fmt"
	"sync"

	"github.com/lovoo/goka/storage"
)

// staged is a group table's local storage whose writes, once the
// partition has recovered, wait in memory until their transaction
// commits: only then may they be written to the storage below, so that it
// holds only committed state. An aborted transaction's writes, or those
// of a process that stops, are dropped with the staged storage. Reads see
// the staged writes first, since the messages after them are decided from
// them.
//
// Committed writes are written below in rounds, not at every commit: the
// last value of each key of up to flushCommits transactions, with the
// changelog offset of the last of them, in one batch. A transfer's pending
// state and its outcome a few commits later, or an account written by
// every commit, then reach RocksDB once: RocksDB's writes were an eighth
// of the processors' CPU. What is below stays a prefix of the committed
// changelog, and a partition that stops before a round reads the rest
// from the changelog when it starts again, as after a crash.
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
	// committed holds the last write of each key of the transactions
	// committed since the last round, commits how many there were, and
	// committedOffset the changelog offset that goes below with them, or
	// -1 for none.
	committed       map[string]stagedWrite
	commits         int
	committedOffset int64
	// applied is the offset last written below by a round, or -1.
	applied int64
}

// A round writes the committed writes below after flushCommits commits
// (about a second at the default commit interval), or once they hold
// flushKeys keys: that bounds the memory they take and the changelog a
// restart reads again.
const (
	flushCommits = 10
	flushKeys    = 8192
)

type stagedWrite struct {
	value   []byte
	deleted bool
}

func newStaged(st storage.Storage) *staged {
	return &staged{Storage: st, writes: map[string]stagedWrite{}, committed: map[string]stagedWrite{}, committedOffset: -1, applied: -1}
}

func (s *staged) Has(key string) (bool, error) {
	w, ok := s.staged(key)
	if ok {
		return !w.deleted, nil
	}
	return s.Storage.Has(key)
}

func (s *staged) Get(key string) ([]byte, error) {
	w, ok := s.staged(key)
	if ok {
		if w.deleted {
			return nil, nil
		}
		return w.value, nil
	}
	return s.Storage.Get(key)
}

// staged returns the last write of key not yet below: the open
// transaction's, or else a committed one's.
func (s *staged) staged(key string) (stagedWrite, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.writes[key]; ok {
		return w, true
	}
	w, ok := s.committed[key]
	return w, ok
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

// commit records that the open transaction committed: its writes join
// the committed ones, with the changelog offset of the last of them:
// offset, the last changelog record of the committed transaction (the
// producer caches the table's writes and sends them at the commit, so
// goka sets no offset), or the one set by SetOffset if greater; a
// negative offset, or one already written, is none. It writes a round
// below when one is due.
func (s *staged) commit(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset > s.applied && (!s.hasOffset || offset > s.offset) {
		s.offset, s.hasOffset = offset, true
	}
	for key, w := range s.writes {
		s.committed[key] = w
	}
	clear(s.writes)
	if s.hasOffset {
		s.committedOffset = max(s.committedOffset, s.offset)
	}
	s.hasOffset = false
	s.commits++
	if s.commits < flushCommits && len(s.committed) < flushKeys {
		return nil
	}
	return s.flush()
}

// flush writes the committed writes below, with their changelog offset.
// Without an applier the values go before the offset: a crash in between
// leaves the offset behind the values, and the restart's recovery reads
// those records again from the changelog, which has them. The caller
// holds s.mu.
func (s *staged) flush() error {
	s.commits = 0
	if len(s.committed) == 0 && s.committedOffset <= s.applied {
		return nil
	}
	offset := int64(-1)
	if s.committedOffset > s.applied {
		offset = s.committedOffset
	}
	if a, ok := s.Storage.(applier); ok {
		sets := make(map[string][]byte, len(s.committed))
		var deletes []string
		for key, w := range s.committed {
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
		for key, w := range s.committed {
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
	clear(s.committed)
	s.applied = max(s.applied, offset)
	return nil
}

// GetOffset returns the changelog offset of the committed state, the
// writes not yet below included.
func (s *staged) GetOffset(def int64) (int64, error) {
	s.mu.Lock()
	committed := s.committedOffset
	s.mu.Unlock()
	o, err := s.Storage.GetOffset(def)
	if err != nil || committed < 0 {
		return o, err
	}
	return max(o, committed), nil
}

// Close writes the committed writes below, drops those not committed, and
// closes the storage below.
func (s *staged) Close() error {
	s.mu.Lock()
	err := s.flush()
	clear(s.writes)
	s.hasOffset = false
	s.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("write the committed table writes at close: %w", err)
	}
	return errors.Join(err, s.Storage.Close())
}
