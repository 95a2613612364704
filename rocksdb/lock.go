package rocksdb

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockDir takes an exclusive lock on a whole state directory for this
// process, creating the directory if needed. RocksDB locks each partition's
// database only when it is opened, so two processes given the same
// directory would otherwise run side by side until a rebalance handed both
// the same partition. The lock goes with the process, however it ends.
func LockDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, &lockedError{dir: dir, cause: err}
	}
	return f.Close, nil
}
