package rocksdb

import (
	"strconv"
	"testing"
)

// The cache keeps the last recentSize keys written, their latest values,
// and forgets deleted ones.
func TestRecent(t *testing.T) {
	r := newRecent()
	for i := range recentSize + 10 {
		r.set(strconv.Itoa(i), []byte("v"+strconv.Itoa(i)))
	}
	if _, ok := r.get("9"); ok {
		t.Error("key 9 was kept past the bound")
	}
	if v, ok := r.get("10"); !ok || string(v) != "v10" {
		t.Errorf("key 10 = %q, %v; want v10", v, ok)
	}
	r.set("10", []byte("new"))
	if v, _ := r.get("10"); string(v) != "new" {
		t.Errorf("key 10 = %q after a new write, want new", v)
	}
	v, _ := r.get("10")
	v[0] = 'X'
	if w, _ := r.get("10"); string(w) != "new" {
		t.Error("get returned the cache's own bytes")
	}
	r.delete("10")
	if _, ok := r.get("10"); ok {
		t.Error("a deleted key is still here")
	}
	if len(r.values) > recentSize {
		t.Errorf("%d values kept, want at most %d", len(r.values), recentSize)
	}
}
