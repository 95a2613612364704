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
