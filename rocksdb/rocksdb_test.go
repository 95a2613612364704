package rocksdb_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka/storage"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/storagetest"
)

// The test binary doubles as the helper process of the tests that need a
// second process: with ROCKSDB_TEST_HELPER set, TestMain runs the helper
// instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ROCKSDB_TEST_HELPER"); mode != "" {
		helper(mode, os.Getenv("ROCKSDB_TEST_DIR"))
		return
	}
	os.Exit(m.Run())
}

// smallOptions keeps test databases small and makes flushes frequent.
var smallOptions = rocksdb.Options{
	BlockCacheBytes:  1 << 20,
	WriteBufferBytes: 256 << 10,
}

func openStorage(t *testing.T, dir string) *rocksdb.Storage {
	t.Helper()
	st, err := rocksdb.Open(dir, smallOptions)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, dir string) storage.Storage {
		st, err := rocksdb.Open(dir, smallOptions)
		if err != nil {
			t.Fatalf("Open(%q): %v", dir, err)
		}
		return st
	}, storagetest.Options{Persistent: true})
}

func TestBuilder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	build := rocksdb.Builder(dir, rocksdb.Options{})

	st0, err := build("accounts-table", 0)
	if err != nil {
		t.Fatalf("build(accounts-table, 0): %v", err)
	}
	st1, err := build("accounts-table", 1)
	if err != nil {
		t.Fatalf("build(accounts-table, 1): %v", err)
	}
	for _, name := range []string{"accounts-table.0", "accounts-table.1"} {
		if _, err := os.Stat(filepath.Join(dir, name, "CURRENT")); err != nil {
			t.Errorf("partition database %s: %v", name, err)
		}
	}

	if err := st0.Set("account-1", []byte("p0")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := st1.Get("account-1"); err != nil || got != nil {
		t.Errorf("partition 1 Get(account-1) = %q, %v; want nil, nil", got, err)
	}

	// Closing one partition must leave the shared cache to the other.
	if err := st0.Close(); err != nil {
		t.Fatalf("Close partition 0: %v", err)
	}
	if err := st1.Set("account-2", []byte("p1")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := st1.MarkRecovered(); err != nil {
		t.Fatalf("MarkRecovered: %v", err)
	}
	if got, err := st1.Get("account-2"); err != nil || string(got) != "p1" {
		t.Errorf("partition 1 Get(account-2) = %q, %v; want %q, nil", got, err, "p1")
	}
	if err := st1.Close(); err != nil {
		t.Fatalf("Close partition 1: %v", err)
	}

	// With every partition closed the cache is gone; a new partition gets
	// a new one, and the data is still there.
	st0, err = build("accounts-table", 0)
	if err != nil {
		t.Fatalf("build(accounts-table, 0) again: %v", err)
	}
	defer st0.Close()
	if got, err := st0.Get("account-1"); err != nil || string(got) != "p0" {
		t.Errorf("reopened partition 0 Get(account-1) = %q, %v; want %q, nil", got, err, "p0")
	}
}

func TestBuilderInvalidOptions(t *testing.T) {
	build := rocksdb.Builder(t.TempDir(), rocksdb.Options{WriteBufferBytes: -1})
	st, err := build("t", 0)
	if err == nil || st != nil {
		t.Fatalf("build with negative WriteBufferBytes = %v, %v; want nil storage and an error", st, err)
	}
}

func TestOpenInvalidOptions(t *testing.T) {
	for _, opts := range []rocksdb.Options{
		{BlockCacheBytes: -1},
		{WriteBufferBytes: -1},
		{MaxOpenFiles: -2},
		{BackgroundJobs: -1},
	} {
		if _, err := rocksdb.Open(t.TempDir(), opts); err == nil {
			t.Errorf("Open with %+v succeeded, want an error", opts)
		}
	}
}

func wantLocked(t *testing.T, err error, dir string) {
	t.Helper()
	if !errors.Is(err, rocksdb.ErrLocked) {
		t.Fatalf("error = %v, want one wrapping ErrLocked", err)
	}
	want := "state directory " + dir + " is in use by another process (stop it, or give this one its own -state directory)"
	if got := err.Error(); got != want {
		t.Errorf("error message:\ngot  %s\nwant %s", got, want)
	}
}

func TestLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	openStorage(t, dir)

	st, err := rocksdb.Open(dir, smallOptions)
	if st != nil {
		st.Close()
	}
	wantLocked(t, err, dir)
}

func TestLockedBuilder(t *testing.T) {
	dir := t.TempDir()
	build := rocksdb.Builder(dir, smallOptions)
	st, err := build("accounts-table", 3)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	defer st.Close()

	second, err := build("accounts-table", 3)
	if second != nil {
		t.Errorf("second build returned a storage: %v", second)
	}
	wantLocked(t, err, filepath.Join(dir, "accounts-table.3"))
}

func TestLockedByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ROCKSDB_TEST_HELPER=hold", "ROCKSDB_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	defer cmd.Wait()
	defer stdin.Close()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v; want %q", line, err, "ready\n")
	}

	st, err := rocksdb.Open(dir, smallOptions)
	if st != nil {
		st.Close()
	}
	wantLocked(t, err, dir)

	// Once the other process is gone the directory can be opened.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	openStorage(t, dir)
}

func TestCloseTwice(t *testing.T) {
	st, err := rocksdb.Open(t.TempDir(), smallOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	st, err := rocksdb.Open(t.TempDir(), smallOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatalf("Next = false, want true")
	}
	// Close with the iterator still open: Close frees it.
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if it.Next() {
		t.Errorf("iterator Next after Close = true, want false")
	}
	if k := it.Key(); k != nil {
		t.Errorf("iterator Key after Close = %q, want nil", k)
	}
	if v, err := it.Value(); v != nil || err != nil {
		t.Errorf("iterator Value after Close = %q, %v; want nil, nil", v, err)
	}
	if it.Seek([]byte("a")) {
		t.Errorf("iterator Seek after Close = true, want false")
	}
	if err := it.Err(); !errors.Is(err, rocksdb.ErrClosed) {
		t.Errorf("iterator Err after Close = %v, want ErrClosed", err)
	}
	it.Release()
	it.Release()

	_, err = st.Has("a")
	checkClosed(t, "Has", err)
	_, err = st.Get("a")
	checkClosed(t, "Get", err)
	checkClosed(t, "Set", st.Set("a", []byte("2")))
	checkClosed(t, "Delete", st.Delete("a"))
	_, err = st.GetOffset(0)
	checkClosed(t, "GetOffset", err)
	checkClosed(t, "SetOffset", st.SetOffset(1))
	checkClosed(t, "MarkRecovered", st.MarkRecovered())
	checkClosed(t, "Open", st.Open())
	_, err = st.Iterator()
	checkClosed(t, "Iterator", err)
	_, err = st.IteratorWithRange([]byte("a"), nil)
	checkClosed(t, "IteratorWithRange", err)
}

func TestCloseWhileReading(t *testing.T) {
	st, err := rocksdb.Open(t.TempDir(), smallOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := st.Set(fmt.Sprintf("account-%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				_, err := st.Get(fmt.Sprintf("account-%d", i%100))
				if errors.Is(err, rocksdb.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				it, err := st.Iterator()
				if errors.Is(err, rocksdb.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Iterator: %v", err)
					return
				}
				for it.Next() {
					it.Key()
				}
				if err := it.Err(); err != nil && !errors.Is(err, rocksdb.ErrClosed) {
					t.Errorf("iterator Err: %v", err)
				}
				it.Release()
			}
		})
	}
	close(start)
	time.Sleep(50 * time.Millisecond) // let the readers get going
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
}

func checkClosed(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, rocksdb.ErrClosed) {
		t.Errorf("%s after Close: error = %v, want ErrClosed", op, err)
	}
}

func TestErrorContext(t *testing.T) {
	st, err := rocksdb.Open(t.TempDir(), smallOptions)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = st.Get("account-7")
	if got, want := err.Error(), `rocksdb get "account-7": rocksdb storage is closed`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestMarkRecoveredTwice(t *testing.T) {
	st := openStorage(t, t.TempDir())
	for range 2 {
		if err := st.MarkRecovered(); err != nil {
			t.Fatalf("MarkRecovered: %v", err)
		}
	}
}

func TestIteratorSeek(t *testing.T) {
	st := openStorage(t, t.TempDir())
	for _, k := range []string{"a", "c", "e", "g"} {
		if err := st.Set(k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}

	it, err := st.IteratorWithRange([]byte("c"), []byte("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()

	// Before the first Next there is no pair.
	if k := it.Key(); k != nil {
		t.Errorf("Key before Next = %q, want nil", k)
	}
	if v, err := it.Value(); v != nil || err != nil {
		t.Errorf("Value before Next = %q, %v; want nil, nil", v, err)
	}

	tests := []struct {
		seek string
		want string // "" if Seek should fail
	}{
		{"d", "e"}, // between keys: the next key
		{"a", "c"}, // before the range: its first key
		{"c", "c"}, // backwards
		{"f", ""},  // after the last key in the range
		{"e", "e"}, // an exhausted iterator can seek again
		{"g", ""},  // the limit itself is outside the range
	}
	for _, tt := range tests {
		ok := it.Seek([]byte(tt.seek))
		if got := string(it.Key()); ok != (tt.want != "") || got != tt.want {
			t.Errorf("Seek(%q) = %t, Key %q; want %t, %q", tt.seek, ok, got, tt.want != "", tt.want)
		}
	}
}

func TestIteratorKeyIsCopy(t *testing.T) {
	st := openStorage(t, t.TempDir())
	st.Set("a", []byte("1"))
	st.Set("b", []byte("2"))
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	it.Next()
	k := it.Key()
	v, _ := it.Value()
	it.Next()
	it.Release()
	if string(k) != "a" || string(v) != "1" {
		t.Errorf("key and value kept from the first pair = %q, %q; want %q, %q", k, v, "a", "1")
	}
}

// goka's LevelDB storage keeps its offset under the table key "__offset"
// and hides that key from iterators. This storage keeps the offset apart,
// so "__offset" is an ordinary key.
func TestOffsetKeyIsTableKey(t *testing.T) {
	st := openStorage(t, t.TempDir())
	if err := st.SetOffset(5); err != nil {
		t.Fatal(err)
	}
	if err := st.Set("__offset", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	if fmt.Sprint(keys) != "[__offset]" {
		t.Errorf("iterator keys = %q, want [__offset]", keys)
	}
}

// TestCrash kills a process in the middle of writing and checks what a
// restart finds: the stored offset must never be ahead of the stored
// table, or goka would skip the messages in between for good. No write
// uses the write-ahead log, before MarkRecovered or after: a crash loses
// those since the last flush, the offset with them.
func TestCrash(t *testing.T) {
	tests := []struct {
		mode string
	}{
		{"crash-recovering"},
		{"crash-recovered"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			st, offset := crashed(t, tt.mode)
			n := int(offset) + 1 // writes the offset covers
			t.Logf("after the crash the offset covers %d of %d writes", n, crashWrites)
			for i := range n {
				got, err := st.Get(crashKey(i))
				if err != nil {
					t.Fatal(err)
				}
				if want := crashValue(i); string(got) != want {
					t.Fatalf("offset covers %d writes but Get(%q) = %q, want %q", n, crashKey(i), got, want)
				}
			}
		})
	}
}

// A processor's writes come in batches, one per transaction, each with
// the changelog offset of its last write (Apply). Without the write-ahead
// log a crash keeps a prefix of the batches: the batches the stored offset
// covers, whole, and none after them.
func TestCrashApplied(t *testing.T) {
	st, offset := crashed(t, "crash-applied")
	if (offset+1)%crashBatch != 0 {
		t.Fatalf("offset %d is not the last of a batch of %d", offset, crashBatch)
	}
	n := int(offset) + 1
	t.Logf("after the crash the offset covers %d of %d writes", n, crashWrites)
	for i := range crashWrites {
		got, err := st.Get(crashKey(i))
		if err != nil {
			t.Fatal(err)
		}
		want := crashValue(i)
		if i >= n {
			want = "" // not written: a batch after the offset
		}
		if string(got) != want {
			t.Fatalf("offset covers %d writes but Get(%q) = %q, want %q", n, crashKey(i), got, want)
		}
	}
}

// crashed runs the helper process in mode, which writes and then crashes,
// and returns the storage it left, opened again, with its offset.
func crashed(t *testing.T, mode string) (*rocksdb.Storage, int64) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ROCKSDB_TEST_HELPER="+mode, "ROCKSDB_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExitCode {
		t.Fatalf("helper: %v, want exit status %d", err, crashExitCode)
	}
	st := openStorage(t, dir)
	offset, err := st.GetOffset(-1)
	if err != nil {
		t.Fatal(err)
	}
	if offset < 0 {
		// The test means nothing if no flush happened.
		t.Fatalf("no offset survived the crash; write more or use smaller write buffers")
	}
	return st, offset
}

const (
	crashExitCode = 3
	crashWrites   = 50000
	crashBatch    = 100
)

func crashKey(i int) string   { return "k" + strconv.Itoa(i) }
func crashValue(i int) string { return strconv.Itoa(i % 10) }

// helper runs in a child process; see TestMain.
func helper(mode, dir string) {
	st, err := rocksdb.Open(dir, smallOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switch mode {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin) // until the test closes stdin
		if err := st.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "crash-recovering", "crash-recovered":
		for i := range crashWrites {
			if mode == "crash-recovered" && i == crashWrites/2 {
				if err := st.MarkRecovered(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
			if err := st.Set(crashKey(i), []byte(crashValue(i))); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			if err := st.SetOffset(int64(i)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		// No Close: exit as a crash would, leaving memtables unflushed.
		os.Exit(crashExitCode)
	case "crash-applied":
		if err := st.MarkRecovered(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i := 0; i < crashWrites; i += crashBatch {
			sets := map[string][]byte{}
			for j := i; j < i+crashBatch; j++ {
				sets[crashKey(j)] = []byte(crashValue(j))
			}
			if err := st.Apply(sets, nil, int64(i+crashBatch-1)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(crashExitCode)
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		os.Exit(1)
	}
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	release, err := rocksdb.LockDir(dir)
	if err != nil {
		t.Fatalf("first LockDir: %v", err)
	}
	_, err = rocksdb.LockDir(dir)
	if !errors.Is(err, rocksdb.ErrLocked) {
		t.Fatalf("second LockDir = %v, want ErrLocked", err)
	}
	want := "state directory " + dir + " is in use by another process (stop it, or give this one its own -state directory)"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	release, err = rocksdb.LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after release: %v", err)
	}
	release()
}
