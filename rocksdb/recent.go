package rocksdb

import "sync"

// recentOverhead is what a storage counts for each key it keeps in memory
// beyond the key's and the value's bytes: the map entry, the queue entry
// and the two slice headers, roughly.
const recentOverhead = 64

// recent is a write-through cache of the values last written, bounded by
// bytes: every Set and Delete goes to RocksDB and here, so a value found
// here is the one RocksDB holds. Eviction is first in, first out, in the
// order keys were first written.
//
// A processor reads a key soon after writing it (an account's next
// instruction, a transfer's outcome after its request), and a Get from
// RocksDB is a cgo call that may read and decompress a block.
type recent struct {
	mu     sync.Mutex
	max    int // bytes
	size   int // bytes counted: every queued key and every value held
	values map[string][]byte
	// queue holds the keys in the order written, from head on. A key
	// deleted and written again is queued twice; its older entry evicts
	// it early, which costs a read, never a wrong value.
	queue []string
	head  int
}

// newRecent returns a cache that keeps about max bytes.
func newRecent(max int64) *recent {
	return &recent{max: int(max), values: map[string][]byte{}}
}

// get returns a copy of the value of key, and whether it is here.
func (r *recent) get(key string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.values[key]
	if !ok {
		return nil, false
	}
	return append([]byte{}, v...), true
}

// set records the value written under key.
func (r *recent) set(key string, value []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.values[key]; ok {
		r.size -= len(old)
	} else {
		r.queue = append(r.queue, key)
		r.size += len(key) + recentOverhead
	}
	r.values[key] = append([]byte{}, value...)
	r.size += len(value)
	for r.size > r.max && r.head < len(r.queue) {
		r.evict()
	}
}

// evict forgets the key written first.
func (r *recent) evict() {
	key := r.queue[r.head]
	r.queue[r.head] = ""
	r.head++
	r.size -= len(key) + recentOverhead
	if v, ok := r.values[key]; ok {
		r.size -= len(v)
		delete(r.values, key)
	}
	// Reuse the queue's array once most of it is behind the head.
	if r.head > len(r.queue)/2 {
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
}

// delete forgets key.
func (r *recent) delete(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.values[key]; ok {
		r.size -= len(v)
		delete(r.values, key)
	}
}
