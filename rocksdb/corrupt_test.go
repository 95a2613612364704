package rocksdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/wallet/wallet/internal/damage"
	"github.com/wallet/wallet/rocksdb"
)

// corruptKeys is more keys than a storage keeps in memory, so reads reach
// the table files.
const corruptKeys = 20000

func corruptKey(i int) string { return fmt.Sprintf("account-%06d", i) }

// fillPartition writes corruptKeys keys and an offset to a partition, and
// closes it with everything in table files.
func fillPartition(t *testing.T, build storage.Builder) {
	t.Helper()
	st, err := build("accounts-table", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range corruptKeys {
		if err := st.Set(corruptKey(i), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
			t.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkRecovered(); err != nil { // flushes to table files
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// captureLog sends slog's lines to the returned buffer until the test
// ends.
func captureLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

// wantQuarantined checks that the partition was moved aside, with one log
// line saying where, and that st, built after, is empty and has no offset,
// so that goka recovers it from the whole changelog.
func wantQuarantined(t *testing.T, stateDir string, log *bytes.Buffer, st storage.Storage) {
	t.Helper()
	moved, err := filepath.Glob(filepath.Join(stateDir, "accounts-table.0.corrupt-*"))
	if err != nil || len(moved) != 1 {
		t.Fatalf("partitions moved aside: %v %v, want 1", moved, err)
	}
	if _, err := os.Stat(filepath.Join(moved[0], "CURRENT")); err != nil {
		t.Errorf("the partition moved aside lost its files: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "dir="+filepath.Join(stateDir, "accounts-table.0")) ||
		!strings.Contains(lines[0], "moved_to="+moved[0]) || !strings.Contains(lines[0], "cause=") {
		t.Errorf("log = %q, want one line naming the directory, where it went and why", log.String())
	}
	if off, err := st.GetOffset(-1); err != nil || off != -1 {
		t.Errorf("GetOffset after quarantine = %d, %v; want -1 (none)", off, err)
	}
	for _, i := range []int{0, corruptKeys / 2, corruptKeys - 1} {
		if v, err := st.Get(corruptKey(i)); err != nil || v != nil {
			t.Errorf("Get(%s) after quarantine = %q, %v; want nil, nil", corruptKey(i), v, err)
		}
	}
	if err := st.Set("k", []byte("v")); err != nil {
		t.Errorf("Set after quarantine: %v", err)
	}
}

// A partition whose files are damaged so that RocksDB refuses to open it
// is moved aside at open, and an empty one takes its place.
func TestQuarantineAtOpen(t *testing.T) {
	for _, d := range []damage.Damage{{Name: "truncate", Do: damage.Truncate}, {Name: "delete", Do: damage.Delete}} {
		t.Run(d.Name, func(t *testing.T) {
			dir := t.TempDir()
			build := rocksdb.Builder(dir, smallOptions)
			fillPartition(t, build)
			if err := d.Do(filepath.Join(dir, "accounts-table.0")); err != nil {
				t.Fatal(err)
			}

			log := captureLog(t)
			st, err := build("accounts-table", 0)
			if err != nil {
				t.Fatalf("build after damage: %v", err)
			}
			defer st.Close()
			wantQuarantined(t, dir, log, st)
		})
	}
}

// readAll reads every key and returns the first error.
func readAll(st storage.Storage) error {
	for i := range corruptKeys {
		if _, err := st.Get(corruptKey(i)); err != nil {
			return err
		}
	}
	return nil
}

// A garbled data block opens fine and fails the first read of a key in
// it. From then on the storage refuses every operation, and the next build
// of the partition moves it aside.
func TestQuarantineAfterCorruptRead(t *testing.T) {
	dir := t.TempDir()
	build := rocksdb.Builder(dir, smallOptions)
	fillPartition(t, build)
	if err := damage.Garble(filepath.Join(dir, "accounts-table.0")); err != nil {
		t.Fatal(err)
	}

	st, err := build("accounts-table", 0)
	if err != nil {
		t.Fatalf("build after garbling a data block: %v (want it to open)", err)
	}
	err = readAll(st)
	t.Logf("read: %v", err)
	if !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Fatalf("reading every key: error %v, want ErrCorrupt", err)
	}
	wantRefused(t, st)
	if err := st.Close(); err != nil {
		t.Errorf("Close of a corrupt storage: %v", err)
	}

	log := captureLog(t)
	st, err = build("accounts-table", 0)
	if err != nil {
		t.Fatalf("build after a corrupt read: %v", err)
	}
	defer st.Close()
	wantQuarantined(t, dir, log, st)
}

// Damage under a running storage: a data block garbled after it was
// written is found at the first read of it, since RocksDB caches blocks
// only once read. The read here is an iterator's, which views use; the
// newest table file holds the keys written last, which Get answers from
// memory.
func TestQuarantineAfterDamageWhileOpen(t *testing.T) {
	dir := t.TempDir()
	build := rocksdb.Builder(dir, smallOptions)
	st, err := build("accounts-table", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range corruptKeys {
		if err := st.Set(corruptKey(i), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	if err := damage.Garble(filepath.Join(dir, "accounts-table.0")); err != nil {
		t.Fatal(err)
	}
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
	}
	err = it.Err()
	it.Release()
	if !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Fatalf("iterating every key: error %v, want ErrCorrupt", err)
	}
	wantRefused(t, st)
	if err := st.Close(); err != nil {
		t.Errorf("Close of a corrupt storage: %v", err)
	}

	log := captureLog(t)
	st, err = build("accounts-table", 0)
	if err != nil {
		t.Fatalf("build after a corrupt read: %v", err)
	}
	defer st.Close()
	wantQuarantined(t, dir, log, st)
}

// wantRefused checks that a storage found corrupt refuses reads and
// writes, the values it holds in memory and its offset included.
func wantRefused(t *testing.T, st storage.Storage) {
	t.Helper()
	if _, err := st.Get(corruptKey(corruptKeys - 1)); !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Errorf("Get of a recent key after corruption: %v, want ErrCorrupt", err)
	}
	if err := st.Set("k", []byte("v")); !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Errorf("Set after corruption: %v, want ErrCorrupt", err)
	}
	if _, err := st.GetOffset(-1); !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Errorf("GetOffset after corruption: %v, want ErrCorrupt", err)
	}
	if err := st.SetOffset(1); !errors.Is(err, rocksdb.ErrCorrupt) {
		t.Errorf("SetOffset after corruption: %v, want ErrCorrupt", err)
	}
}
