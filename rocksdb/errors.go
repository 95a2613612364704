package rocksdb

import (
	"errors"
	"fmt"
	"strings"
)

// ErrClosed is returned by every operation on a closed storage.
var ErrClosed = errors.New("rocksdb storage is closed")

// ErrLocked is returned (wrapped) by Open and by a Builder when another
// process, or another storage in this process, has the database open.
var ErrLocked = errors.New("rocksdb database is locked")

// lockedError reports a database directory that is in use. Its message is
// meant for the operator who started a second process with the same state
// directory, so it says what to do rather than quoting RocksDB.
type lockedError struct {
	dir   string
	cause error // the RocksDB error, kept for errors.As and debugging
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("state directory %s is in use by another process (stop it, or give this one its own -state directory)", e.dir)
}

func (e *lockedError) Unwrap() []error {
	return []error{ErrLocked, e.cause}
}

// isLockError reports whether err is RocksDB failing to take the LOCK file
// of a database. RocksDB has no error codes in its C API, so this matches
// the messages of RocksDB 7.x:
//
//	IO error: While lock file: <dir>/LOCK: Resource temporarily unavailable
//	IO error: lock hold by current process, acquire time ... : <dir>/LOCK: No locks available
//
// The first comes from flock held by another process, the second from a
// second open of the same directory within one process.
func isLockError(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, "/LOCK") {
		return false
	}
	return strings.Contains(msg, "While lock file") ||
		strings.Contains(msg, "lock hold by current process") ||
		strings.Contains(msg, "Resource temporarily unavailable")
}

// ErrCorrupt is returned (wrapped) by every operation of a storage whose
// database was found damaged: a table file that is truncated, garbled or
// gone. The database is only a cache of its changelog, so the next Open
// of the directory, or the next build of the partition, moves the
// directory aside and starts an empty database, which goka then recovers
// from the changelog.
var ErrCorrupt = errors.New("rocksdb database is corrupt")

// corruptError reports a damaged database, with what RocksDB said.
type corruptError struct {
	dir   string
	cause error
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("database %s is corrupt (it is moved aside and rebuilt from its changelog when next opened): %v", e.dir, e.cause)
}

func (e *corruptError) Unwrap() []error {
	return []error{ErrCorrupt, e.cause}
}

// isCorruption reports whether err is RocksDB finding its files damaged.
// RocksDB has no error codes in its C API, so this matches the messages of
// RocksDB 7.x, which for the damages tried (rocksdb/corrupt_test.go) are:
//
//	truncated table file:    Corruption: file is too short (N bytes) to be an sstable<file> in file <MANIFEST>
//	garbled block, at read:  Corruption: block checksum mismatch: stored = ..., computed = ... in <file> offset ...
//	deleted table file:      Corruption: Corruption: IO error: No such file or directory: While open a file for random read: <file> ...
//	deleted MANIFEST:        IO error: No such file or directory: While opening a file for sequentially reading: <MANIFEST>: ...
//	deleted CURRENT:         Corruption: While creating a new Db, wal_dir contains existing log file: ...
//
// Other I/O errors (a full disk, a permission denied) are not damage to
// the files, and moving the database aside would not cure them.
func isCorruption(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "Corruption:") ||
		strings.HasPrefix(msg, "IO error: No such file or directory")
}
