package kafka

import (
	"testing"

	"github.com/lovoo/goka/storage"

	"github.com/wallet/wallet/rocksdb"
)

// A staged storage writes through while its partition recovers; after
// that its writes are read back at once but reach the storage below only
// once committed, in rounds, and those not committed are dropped on close.
func TestStaged(t *testing.T) {
	dir := t.TempDir()
	inner, err := rocksdb.Open(dir, rocksdb.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := newStaged(inner)
	get := func(st storage.Storage, key string) string {
		t.Helper()
		v, err := st.Get(key)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			return "<none>"
		}
		return string(v)
	}
	offset := func(st storage.Storage) int64 {
		t.Helper()
		o, err := st.GetOffset(-1)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	// Recovering: straight through.
	must(t, s.Set("a", []byte("1")))
	must(t, s.Set("c", []byte("5")))
	must(t, s.SetOffset(10))
	if get(inner, "a") != "1" || offset(inner) != 10 {
		t.Fatalf("recovery did not write through: a=%s offset %d", get(inner, "a"), offset(inner))
	}
	must(t, s.MarkRecovered())

	// Staged: read back, not below.
	must(t, s.Set("a", []byte("2")))
	must(t, s.Set("b", []byte("3")))
	must(t, s.Delete("c"))
	must(t, s.SetOffset(12))
	must(t, s.SetOffset(11)) // acknowledgements may come out of order
	if get(s, "a") != "2" || get(s, "b") != "3" || get(s, "c") != "<none>" ||
		get(inner, "a") != "1" || get(inner, "b") != "<none>" || get(inner, "c") != "5" || offset(inner) != 10 {
		t.Fatalf("staged writes: a=%s/%s b=%s/%s c=%s/%s offset %d", get(s, "a"), get(inner, "a"), get(s, "b"), get(inner, "b"), get(s, "c"), get(inner, "c"), offset(inner))
	}
	if ok, err := s.Has("b"); err != nil || !ok {
		t.Errorf("Has(b) = %v, %v", ok, err)
	}

	// Committed: read back, with the last offset, and below after
	// flushCommits commits.
	must(t, s.commit(-1))
	if get(s, "a") != "2" || get(s, "c") != "<none>" || offset(s) != 12 || get(inner, "a") != "1" || offset(inner) != 10 {
		t.Fatalf("after a commit: a=%s/%s c=%s offset %d/%d", get(s, "a"), get(inner, "a"), get(s, "c"), offset(s), offset(inner))
	}
	for range flushCommits - 1 {
		must(t, s.commit(-1))
	}
	if get(inner, "a") != "2" || get(inner, "b") != "3" || get(inner, "c") != "<none>" || offset(inner) != 12 {
		t.Fatalf("after %d commits: a=%s b=%s c=%s offset %d", flushCommits, get(inner, "a"), get(inner, "b"), get(inner, "c"), offset(inner))
	}

	// Committed with the offset of the transaction's last changelog
	// record, which the producer gives: it caches the changelog writes
	// until the commit, so goka sets no offset. A key written by several
	// transactions between rounds goes below once, with its last value.
	must(t, s.Set("b", []byte("5")))
	must(t, s.commit(15))
	must(t, s.Set("b", []byte("6")))
	must(t, s.commit(20))
	if get(s, "b") != "6" || offset(s) != 20 || get(inner, "b") != "3" {
		t.Fatalf("after commits at 15 and 20: b=%s/%s offset %d", get(s, "b"), get(inner, "b"), offset(s))
	}
	for range flushCommits - 2 {
		must(t, s.commit(-1))
	}
	if get(inner, "b") != "6" || offset(inner) != 20 {
		t.Fatalf("after the round: b=%s offset %d", get(inner, "b"), offset(inner))
	}

	// Committed, then closed before a round: written below at the close.
	must(t, s.Set("d", []byte("7")))
	must(t, s.commit(21))

	// Staged again, then closed: dropped.
	must(t, s.Set("a", []byte("4")))
	must(t, s.SetOffset(13))
	if get(s, "a") != "4" {
		t.Fatalf("a=%s, want the staged 4", get(s, "a"))
	}
	must(t, s.Close())
	reopened, err := rocksdb.Open(dir, rocksdb.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if get(reopened, "a") != "2" || get(reopened, "d") != "7" || offset(reopened) != 21 {
		t.Fatalf("after closing: a=%s d=%s offset %d, want the committed 2 and 7 at 21", get(reopened, "a"), get(reopened, "d"), offset(reopened))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
