package disk_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wallet/wallet/disk"
)

// TestMeasure: Used counts the space allocated beyond a file's end, as
// RocksDB allocates its logs ahead, and in directories below; the space
// closing such a file gives back is what Used loses.
func TestMeasure(t *testing.T) {
	dir := t.TempDir()
	before, err := disk.Measure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before.Size == 0 || before.Free > before.Size {
		t.Fatalf("Measure = %+v, want 0 < Free <= Size", before)
	}
	if err := os.Mkdir(filepath.Join(dir, "table.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "table.0", "000004.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const ahead = 4 << 20
	if err := syscall.Fallocate(int(f.Fd()), 1 /* FALLOC_FL_KEEP_SIZE */, 0, ahead); errors.Is(err, syscall.EOPNOTSUPP) {
		t.Skipf("%s cannot allocate ahead: %v", dir, err)
	} else if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("a record"); err != nil {
		t.Fatal(err)
	}
	allocated, err := disk.Measure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := allocated.Used - before.Used; got < ahead {
		t.Errorf("Used grew by %d with %d allocated ahead, want at least that", got, ahead)
	}
	// Closing a RocksDB log truncates what it allocated ahead.
	if err := f.Truncate(8); err != nil {
		t.Fatal(err)
	}
	closed, err := disk.Measure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := allocated.Used - closed.Used; got < ahead-(64<<10) {
		t.Errorf("Used fell by %d once the file was truncated, want about %d", got, ahead)
	}
}

func TestMeasureMissing(t *testing.T) {
	if _, err := disk.Measure(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Measure of a missing directory: no error")
	}
}
