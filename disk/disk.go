// Package disk measures the free space under the directories the wallet
// writes: the local tables and the embedded broker's log. RocksDB and the
// broker fail badly on a full disk (an assertion aborts the process), so
// each stops writing at a floor above it instead.
package disk

import (
	"fmt"
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
