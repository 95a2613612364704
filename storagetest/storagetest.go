// Package storagetest checks implementations of goka's storage.Storage
// against the behaviour that goka's processors and views rely on.
//
// Run is meant to be called from a test of each implementation, so that
// they all pass the same assertions:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, dir string) storage.Storage {
//			st, err := rocksdb.Open(dir, rocksdb.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		}, storagetest.Options{Persistent: true})
//	}
package storagetest

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/lovoo/goka/storage"
)

// Options describes the storage under test.
type Options struct {
	// Persistent storages keep their table and offset when closed and
	// opened again in the same directory.
	Persistent bool

	// InclusiveLimit storages include a key equal to limit in
	// IteratorWithRange, which also makes a nil start with a nil limit
	// cover only the empty key. goka's memory storage (v1.1.16) does this,
	// although storage.Storage documents [start, limit). The subtests that
	// depend on the limit being exclusive are skipped.
	InclusiveLimit bool
}

// Run runs the conformance suite as subtests of t.
//
// open returns a storage for the directory dir, not yet opened; Run calls
// its Open method and closes it when the subtest ends. dir is a fresh
// directory for each subtest, except that Persistent storages are opened
// a second time in the same directory to check what survived Close.
func Run(t *testing.T, open func(t *testing.T, dir string) storage.Storage, opts Options) {
	s := suite{open: open, opts: opts}
	t.Run("GetMissing", s.testGetMissing)
	t.Run("SetGet", s.testSetGet)
	t.Run("Overwrite", s.testOverwrite)
	t.Run("EmptyValue", s.testEmptyValue)
	t.Run("Delete", s.testDelete)
	t.Run("OffsetDefault", s.testOffsetDefault)
	t.Run("Offset", s.testOffset)
	t.Run("OffsetIsNotAKey", s.testOffsetIsNotAKey)
	t.Run("Iterator", s.testIterator)
	t.Run("IteratorEmpty", s.testIteratorEmpty)
	t.Run("IteratorRelease", s.testIteratorRelease)
	t.Run("IteratorSeek", s.testIteratorSeek)
	t.Run("IteratorWithRange", s.testIteratorWithRange)
	t.Run("IteratorWithRangeSeek", s.testIteratorWithRangeSeek)
	t.Run("IteratorSnapshot", s.testIteratorSnapshot)
	t.Run("ConcurrentReadersOneWriter", s.testConcurrent)
	t.Run("Reopen", s.testReopen)
}

type suite struct {
	open func(t *testing.T, dir string) storage.Storage
	opts Options
}

// newStorage opens a storage in a new directory and closes it at the end
// of the test.
func (s suite) newStorage(t *testing.T) storage.Storage {
	t.Helper()
	st, _ := s.openIn(t, t.TempDir())
	return st
}

// openIn opens a storage in dir. It returns the storage and a function
// that closes it; whatever the test did not close is closed when it ends.
// Each storage is closed once, as goka's LevelDB storage panics on a
// second Close.
func (s suite) openIn(t *testing.T, dir string) (storage.Storage, func()) {
	t.Helper()
	st := s.open(t, dir)
	if st == nil {
		t.Fatalf("open(%q) returned a nil storage", dir)
	}
	if err := st.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	var (
		once sync.Once
		err  error
	)
	closeOnce := func() error {
		once.Do(func() { err = st.Close() })
		return err
	}
	t.Cleanup(func() {
		if err := closeOnce(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st, func() {
		t.Helper()
		if err := closeOnce(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func set(t *testing.T, st storage.Storage, key, value string) {
	t.Helper()
	if err := st.Set(key, []byte(value)); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func del(t *testing.T, st storage.Storage, key string) {
	t.Helper()
	if err := st.Delete(key); err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
}

func setOffset(t *testing.T, st storage.Storage, offset int64) {
	t.Helper()
	if err := st.SetOffset(offset); err != nil {
		t.Fatalf("SetOffset(%d): %v", offset, err)
	}
}

func markRecovered(t *testing.T, st storage.Storage) {
	t.Helper()
	if err := st.MarkRecovered(); err != nil {
		t.Fatalf("MarkRecovered: %v", err)
	}
}

// checkGet checks that key holds want, or is missing if want is nil.
func checkGet(t *testing.T, st storage.Storage, key string, want []byte) {
	t.Helper()
	got, err := st.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if want == nil {
		if got != nil {
			t.Errorf("Get(%q) = %q, want nil", key, got)
		}
	} else if got == nil || !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %q (nil: %t), want %q", key, got, got == nil, want)
	}
	has, err := st.Has(key)
	if err != nil {
		t.Fatalf("Has(%q): %v", key, err)
	}
	if has != (want != nil) {
		t.Errorf("Has(%q) = %t, want %t", key, has, want != nil)
	}
}

func checkOffset(t *testing.T, st storage.Storage, def, want int64) {
	t.Helper()
	got, err := st.GetOffset(def)
	if err != nil {
		t.Fatalf("GetOffset(%d): %v", def, err)
	}
	if got != want {
		t.Errorf("GetOffset(%d) = %d, want %d", def, got, want)
	}
}

// kv is one key-value pair seen by an iterator.
type kv struct{ key, value string }

// collect reads the remaining pairs of it.
func collect(t *testing.T, it storage.Iterator) []kv {
	t.Helper()
	var got []kv
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("Value at %q: %v", it.Key(), err)
		}
		got = append(got, kv{string(it.Key()), string(v)})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	return got
}

func checkPairs(t *testing.T, what string, got, want []kv) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func (s suite) testGetMissing(t *testing.T) {
	st := s.newStorage(t)
	checkGet(t, st, "missing", nil)
	checkGet(t, st, "", nil)
}

func (s suite) testSetGet(t *testing.T) {
	st := s.newStorage(t)
	set(t, st, "account-1", "balance 10")
	set(t, st, "account-2", "balance 20")
	set(t, st, "", "empty key")
	checkGet(t, st, "account-1", []byte("balance 10"))
	checkGet(t, st, "account-2", []byte("balance 20"))
	checkGet(t, st, "", []byte("empty key"))
	checkGet(t, st, "account-3", nil)
}

func (s suite) testOverwrite(t *testing.T) {
	st := s.newStorage(t)
	set(t, st, "account-1", "first")
	set(t, st, "account-1", "second")
	checkGet(t, st, "account-1", []byte("second"))
}

func (s suite) testEmptyValue(t *testing.T) {
	st := s.newStorage(t)
	set(t, st, "account-1", "")
	checkGet(t, st, "account-1", []byte{})
}

func (s suite) testDelete(t *testing.T) {
	st := s.newStorage(t)
	set(t, st, "account-1", "balance 10")
	set(t, st, "account-2", "balance 20")
	del(t, st, "account-1")
	checkGet(t, st, "account-1", nil)
	checkGet(t, st, "account-2", []byte("balance 20"))
	del(t, st, "never-set")
	set(t, st, "account-1", "again")
	checkGet(t, st, "account-1", []byte("again"))
}

func (s suite) testOffsetDefault(t *testing.T) {
	st := s.newStorage(t)
	checkOffset(t, st, -2, -2)
	checkOffset(t, st, 0, 0)
	checkOffset(t, st, 7, 7)
}

func (s suite) testOffset(t *testing.T) {
	st := s.newStorage(t)

	// Zero is a real offset, not "unset".
	setOffset(t, st, 0)
	checkOffset(t, st, -1, 0)
	setOffset(t, st, 5)
	checkOffset(t, st, -1, 5)

	markRecovered(t, st)
	checkOffset(t, st, -1, 5)
	setOffset(t, st, 6)
	checkOffset(t, st, -1, 6)
	setOffset(t, st, math.MaxInt64)
	checkOffset(t, st, -1, math.MaxInt64)
}

func (s suite) testOffsetIsNotAKey(t *testing.T) {
	st := s.newStorage(t)
	setOffset(t, st, 42)
	// Keys an implementation might use internally for the offset.
	for _, key := range []string{"__offset", "offset"} {
		checkGet(t, st, key, nil)
		set(t, st, key, "table value")
		checkGet(t, st, key, []byte("table value"))
	}
	checkOffset(t, st, -1, 42)
}

// fill stores the pairs in an order unrelated to key order.
func fill(t *testing.T, st storage.Storage, pairs []kv) {
	t.Helper()
	for i := range pairs {
		p := pairs[(i*7)%len(pairs)] // 7 is coprime to the lengths used
		set(t, st, p.key, p.value)
	}
}

func (s suite) testIterator(t *testing.T) {
	st := s.newStorage(t)
	want := []kv{
		{"account-1", "v1"},
		{"account-10", "v10"},
		{"account-2", "v2"},
		{"account-3", "v3"},
		{"b", "vb"},
	}
	fill(t, st, want)
	setOffset(t, st, 99)

	it, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer it.Release()
	checkPairs(t, "Iterator", collect(t, it), want)

	// An exhausted iterator stays exhausted and has no pair.
	if it.Next() {
		t.Errorf("Next after the end = true, want false")
	}
	if k := it.Key(); k != nil {
		t.Errorf("Key after the end = %q, want nil", k)
	}
	if v, err := it.Value(); v != nil || err != nil {
		t.Errorf("Value after the end = %q, %v; want nil, nil", v, err)
	}
}

func (s suite) testIteratorEmpty(t *testing.T) {
	st := s.newStorage(t)
	setOffset(t, st, 1)
	it, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer it.Release()
	checkPairs(t, "Iterator", collect(t, it), nil)
}

func (s suite) testIteratorRelease(t *testing.T) {
	st := s.newStorage(t)
	set(t, st, "a", "1")
	it, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	it.Release()
	if it.Next() {
		t.Errorf("Next after Release = true, want false")
	}
	if it.Seek([]byte("a")) {
		t.Errorf("Seek after Release = true, want false")
	}
	// The storage stays usable.
	checkGet(t, st, "a", []byte("1"))
}

func (s suite) testIteratorSeek(t *testing.T) {
	st := s.newStorage(t)
	fill(t, st, []kv{{"key-1", "v1"}, {"key-2", "v2"}, {"key-3", "v3"}, {"key-4", "v4"}})

	it, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer it.Release()

	// Seek positions the iterator at the key; Next moves past it.
	if !it.Seek([]byte("key-2")) {
		t.Fatalf("Seek(key-2) = false, want true")
	}
	if got := string(it.Key()); got != "key-2" {
		t.Errorf("Key after Seek(key-2) = %q, want %q", got, "key-2")
	}
	if v, err := it.Value(); err != nil || string(v) != "v2" {
		t.Errorf("Value after Seek(key-2) = %q, %v; want %q, nil", v, err, "v2")
	}
	if !it.Next() {
		t.Fatalf("Next after Seek(key-2) = false, want true")
	}
	if got := string(it.Key()); got != "key-3" {
		t.Errorf("Key after Seek(key-2), Next = %q, want %q", got, "key-3")
	}

	// Seeking forward from a position.
	if !it.Seek([]byte("key-4")) {
		t.Fatalf("Seek(key-4) = false, want true")
	}
	checkPairs(t, "pairs after Seek(key-4)", append([]kv{{string(it.Key()), "v4"}}, collect(t, it)...), []kv{{"key-4", "v4"}})

	it2, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer it2.Release()
	if it2.Seek([]byte("key-9")) {
		t.Errorf("Seek(key-9) past the last key = true, want false")
	}
	if k := it2.Key(); k != nil {
		t.Errorf("Key after failed Seek = %q, want nil", k)
	}
}

// rangeData has no key equal to a limit used below, except where a subtest
// checks the limit itself, and none equal to "c" or "d", the limits that
// the prefixes "b" and "c" imply. So storages with an inclusive limit
// agree on the other subtests.
var rangeData = []kv{
	{"a", "va"},
	{"b", "vb"},
	{"ba", "vba"},
	{"bb", "vbb"},
	{"ca", "vca"},
	{"da", "vda"},
}

func (s suite) testIteratorWithRange(t *testing.T) {
	st := s.newStorage(t)
	fill(t, st, rangeData)
	setOffset(t, st, 3)

	tests := []struct {
		name           string
		start, limit   []byte
		want           []kv
		exclusiveLimit bool // depends on the limit being exclusive
	}{
		{
			name:  "StartAndLimit",
			start: []byte("b"), limit: []byte("bz"),
			want: []kv{{"b", "vb"}, {"ba", "vba"}, {"bb", "vbb"}},
		},
		{
			name:  "StartBetweenKeys",
			start: []byte("az"), limit: []byte("bb0"),
			want: []kv{{"b", "vb"}, {"ba", "vba"}, {"bb", "vbb"}},
		},
		{
			name:  "LimitIsExclusive",
			start: []byte("b"), limit: []byte("bb"),
			want:           []kv{{"b", "vb"}, {"ba", "vba"}},
			exclusiveLimit: true,
		},
		{
			name:  "NilStart",
			start: nil, limit: []byte("b0"),
			want: []kv{{"a", "va"}, {"b", "vb"}},
		},
		{
			name:  "NilLimitIsPrefix",
			start: []byte("b"), limit: nil,
			want: []kv{{"b", "vb"}, {"ba", "vba"}, {"bb", "vbb"}},
		},
		{
			name:  "EmptyLimitIsPrefix",
			start: []byte("c"), limit: []byte{},
			want: []kv{{"ca", "vca"}},
		},
		{
			name:  "NilStartNilLimitIsEverything",
			start: nil, limit: nil,
			want:           rangeData,
			exclusiveLimit: true,
		},
		{
			name:  "LimitBeforeStart",
			start: []byte("c"), limit: []byte("b0"),
			want: nil,
		},
		{
			name:  "NoKeysInRange",
			start: []byte("bc"), limit: []byte("bz"),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.exclusiveLimit && s.opts.InclusiveLimit {
				t.Skip("storage includes the limit key (Options.InclusiveLimit)")
			}
			it, err := st.IteratorWithRange(tt.start, tt.limit)
			if err != nil {
				t.Fatalf("IteratorWithRange(%q, %q): %v", tt.start, tt.limit, err)
			}
			defer it.Release()
			checkPairs(t, fmt.Sprintf("IteratorWithRange(%q, %q)", tt.start, tt.limit), collect(t, it), tt.want)
		})
	}
}

func (s suite) testIteratorWithRangeSeek(t *testing.T) {
	st := s.newStorage(t)
	fill(t, st, rangeData)

	it, err := st.IteratorWithRange([]byte("b"), []byte("bz"))
	if err != nil {
		t.Fatalf("IteratorWithRange: %v", err)
	}
	defer it.Release()
	if !it.Seek([]byte("ba")) {
		t.Fatalf("Seek(ba) = false, want true")
	}
	if got := string(it.Key()); got != "ba" {
		t.Errorf("Key after Seek(ba) = %q, want %q", got, "ba")
	}
	checkPairs(t, "pairs after Seek(ba)", collect(t, it), []kv{{"bb", "vbb"}})

	it2, err := st.IteratorWithRange([]byte("b"), []byte("bz"))
	if err != nil {
		t.Fatalf("IteratorWithRange: %v", err)
	}
	defer it2.Release()
	if it2.Seek([]byte("da")) {
		t.Errorf("Seek(da) beyond the limit = true, want false (key %q)", it2.Key())
	}
}

func (s suite) testIteratorSnapshot(t *testing.T) {
	st := s.newStorage(t)
	fill(t, st, []kv{{"a", "1"}, {"b", "2"}, {"c", "3"}})

	all, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer all.Release()
	ranged, err := st.IteratorWithRange([]byte("a"), []byte("z"))
	if err != nil {
		t.Fatalf("IteratorWithRange: %v", err)
	}
	defer ranged.Release()

	// Writes after the iterators were created are not seen by them.
	set(t, st, "b", "changed")
	del(t, st, "c")
	set(t, st, "d", "new")
	setOffset(t, st, 10)

	want := []kv{{"a", "1"}, {"b", "2"}, {"c", "3"}}
	checkPairs(t, "Iterator", collect(t, all), want)
	checkPairs(t, "IteratorWithRange", collect(t, ranged), want)

	after, err := st.Iterator()
	if err != nil {
		t.Fatalf("Iterator: %v", err)
	}
	defer after.Release()
	checkPairs(t, "Iterator created after the writes", collect(t, after),
		[]kv{{"a", "1"}, {"b", "changed"}, {"d", "new"}})
}

func (s suite) testConcurrent(t *testing.T) {
	st := s.newStorage(t)
	const (
		keys   = 50
		writes = 3000
	)
	key := func(i int) string { return fmt.Sprintf("account-%02d", i%keys) }
	for i := range keys {
		set(t, st, key(i), "v-init")
	}

	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	wg.Go(func() {
		defer close(done)
		for i := range writes {
			if err := st.Set(key(i), []byte(fmt.Sprintf("v-%d", i))); err != nil {
				t.Errorf("Set: %v", err)
				return
			}
			if i%10 == 0 {
				if err := st.Delete(key(i + keys/2)); err != nil {
					t.Errorf("Delete: %v", err)
					return
				}
			}
			if err := st.SetOffset(int64(i)); err != nil {
				t.Errorf("SetOffset: %v", err)
				return
			}
			if i == writes/2 {
				if err := st.MarkRecovered(); err != nil {
					t.Errorf("MarkRecovered: %v", err)
					return
				}
			}
		}
	})
	for r := range 4 {
		wg.Go(func() {
			last := int64(-1)
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				v, err := st.Get(key(r + i))
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if v != nil && !bytes.HasPrefix(v, []byte("v-")) {
					t.Errorf("Get(%q) = %q, want nil or a written value", key(r+i), v)
				}
				if _, err := st.Has(key(r + i)); err != nil {
					t.Errorf("Has: %v", err)
					return
				}
				off, err := st.GetOffset(-1)
				if err != nil {
					t.Errorf("GetOffset: %v", err)
					return
				}
				if off < last {
					t.Errorf("GetOffset went back from %d to %d", last, off)
				}
				last = off
				if i%20 == 0 {
					checkIteration(t, st)
				}
			}
		})
	}
	wg.Wait()
}

// checkIteration iterates over st and reports keys out of order or values
// never written. It may run on any goroutine.
func checkIteration(t *testing.T, st storage.Storage) {
	it, err := st.Iterator()
	if err != nil {
		t.Errorf("Iterator: %v", err)
		return
	}
	defer it.Release()
	var prev []byte
	for it.Next() {
		k := it.Key()
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Errorf("iterator returned %q after %q", k, prev)
		}
		prev = bytes.Clone(k) // the iterator may reuse k's buffer
		v, err := it.Value()
		if err != nil {
			t.Errorf("Value: %v", err)
		}
		if !bytes.HasPrefix(v, []byte("v-")) {
			t.Errorf("iterator value of %q = %q, want a written value", k, v)
		}
	}
	if err := it.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
}

func (s suite) testReopen(t *testing.T) {
	if !s.opts.Persistent {
		t.Skip("storage is not persistent (Options.Persistent)")
	}
	t.Run("DuringRecovery", func(t *testing.T) {
		dir := t.TempDir()
		st, closeStorage := s.openIn(t, dir)
		fill(t, st, []kv{{"a", "1"}, {"b", "2"}, {"c", "3"}})
		del(t, st, "b")
		setOffset(t, st, 10)
		closeStorage()

		st, _ = s.openIn(t, dir)
		checkOffset(t, st, -1, 10)
		checkGet(t, st, "a", []byte("1"))
		checkGet(t, st, "b", nil)
		checkGet(t, st, "c", []byte("3"))
	})
	t.Run("AfterMarkRecovered", func(t *testing.T) {
		dir := t.TempDir()
		st, closeStorage := s.openIn(t, dir)
		set(t, st, "a", "1")
		setOffset(t, st, 10)
		markRecovered(t, st)
		set(t, st, "a", "2")
		set(t, st, "b", "3")
		setOffset(t, st, 12)
		closeStorage()

		st, _ = s.openIn(t, dir)
		checkOffset(t, st, -1, 12)
		checkGet(t, st, "a", []byte("2"))
		checkGet(t, st, "b", []byte("3"))

		// A reopened storage recovers again and keeps working.
		set(t, st, "c", "4")
		setOffset(t, st, 13)
		markRecovered(t, st)
		it, err := st.Iterator()
		if err != nil {
			t.Fatalf("Iterator: %v", err)
		}
		defer it.Release()
		checkPairs(t, "Iterator", collect(t, it), []kv{{"a", "2"}, {"b", "3"}, {"c", "4"}})
		checkOffset(t, st, -1, 13)
	})
}
