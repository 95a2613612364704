// Package disk measures the space under the directories the wallet writes:
// the local tables and the embedded broker's log. RocksDB and the broker
// fail badly on a full disk (an assertion aborts the process), so each stops
// writing at a floor above it instead: the broker at a fixed one, the
// processors at a Floor that also counts what stopping gave back.
package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// DefaultFloor is the free space below which writers stop: room for
// RocksDB's flushes and compactions of a wallet-sized table, and for the
// broker's next segments.
const DefaultFloor = 256 << 20

// Free returns the bytes available to this process in the file system
// holding dir.
func Free(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space under %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Space is the space of a directory and of the file system holding it, in
// bytes.
type Space struct {
	// Free is the space available to this process, as Free returns it.
	Free uint64
	// Size is the most Free can be: the file system's size less the
	// blocks it keeps for root.
	Size uint64
	// Used is the space allocated to the files under the directory,
	// including what is allocated beyond their ends (RocksDB allocates
	// its logs ahead).
	Used uint64
}

// Measure returns the space of dir. It reads the size of every file under
// dir: a few hundred files take well under a millisecond.
func Measure(dir string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Space{}, fmt.Errorf("free space under %s: %w", dir, err)
	}
	s := Space{
		Free: st.Bavail * uint64(st.Bsize),
		Size: (st.Blocks - (st.Bfree - st.Bavail)) * uint64(st.Bsize),
	}
	var err error
	s.Used, err = used(dir)
	return s, err
}

// used returns the space allocated to the files under dir, the
// directories included. A file deleted while it is walked (RocksDB
// deletes the files a compaction replaced) takes nothing.
func used(dir string) (uint64, error) {
	var n uint64
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		switch err := syscall.Lstat(path, &st); {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
		n += uint64(st.Blocks) * 512 // st_blocks counts 512-byte units
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("space used under %s: %w", dir, err)
	}
	return n, nil
}
