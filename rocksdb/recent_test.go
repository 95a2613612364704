package rocksdb

import (
	"strconv"
	"testing"
)

// The cache keeps the keys last written within its bytes, their latest
// values, and forgets deleted ones.
func TestRecent(t *testing.T) {
	const keys = 100
	entry := len("100") + len("v100") + recentOverhead
	r := newRecent(int64(keys * entry))
	for i := range 2 * keys {
		r.set(strconv.Itoa(i+100), []byte("v"+strconv.Itoa(i+100)))
	}
	if _, ok := r.get("199"); ok {
		t.Error("key 199 was kept past the bound")
	}
	if v, ok := r.get("200"); !ok || string(v) != "v200" {
		t.Errorf("key 200 = %q, %v; want v200", v, ok)
	}
	r.set("200", []byte("new"))
	if v, _ := r.get("200"); string(v) != "new" {
		t.Errorf("key 200 = %q after a new write, want new", v)
	}
	v, _ := r.get("200")
	v[0] = 'X'
	if w, _ := r.get("200"); string(w) != "new" {
		t.Error("get returned the cache's own bytes")
	}
	r.delete("200")
	if _, ok := r.get("200"); ok {
		t.Error("a deleted key is still here")
	}
	if len(r.values) > keys || r.size > r.max {
		t.Errorf("%d values in %d bytes kept, want at most %d in %d", len(r.values), r.size, keys, r.max)
	}
}

// A value larger than the whole cache is not kept, and what the cache
// counts stays within its bound however keys are written and deleted.
func TestRecentStaysWithinItsBytes(t *testing.T) {
	r := newRecent(1000)
	r.set("big", make([]byte, 2000))
	if _, ok := r.get("big"); ok {
		t.Error("a value larger than the cache is kept")
	}
	for i := range 10_000 {
		key := strconv.Itoa(i % 37)
		if i%3 == 0 {
			r.delete(key)
			continue
		}
		r.set(key, make([]byte, i%50))
		if r.size > r.max {
			t.Fatalf("after %d writes, %d bytes counted, bound %d", i, r.size, r.max)
		}
	}
	if len(r.queue)-r.head > 1000/recentOverhead {
		t.Errorf("%d keys queued, want at most %d", len(r.queue)-r.head, 1000/recentOverhead)
	}
	size := 0
	for _, k := range r.queue[r.head:] {
		size += len(k) + recentOverhead
	}
	for _, v := range r.values {
		size += len(v)
	}
	if size != r.size {
		t.Errorf("counted %d bytes, holds %d", r.size, size)
	}
}
