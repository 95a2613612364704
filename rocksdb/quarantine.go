package rocksdb

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// corruptMarker is the file a storage writes into its directory when it
// finds its database damaged while in use. The storage cannot move the
// directory aside itself, because goka still holds it open; the next open
// finds the marker and does.
const corruptMarker = "CORRUPT"

// markCorrupt records in the directory dir that its database is damaged,
// with the cause, for the next open.
func markCorrupt(dir string, cause error) error {
	name := filepath.Join(dir, corruptMarker)
	if err := os.WriteFile(name, []byte(cause.Error()+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark %s corrupt: %w", dir, err)
	}
	return nil
}

// readMarker returns the cause recorded by markCorrupt, and whether there
// is one.
func readMarker(dir string) (cause string, ok bool, err error) {
	name := filepath.Join(dir, corruptMarker)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", name, err)
	}
	return string(b), true, nil
}

// quarantine moves the damaged database in dir aside, to a sibling named
// after it with ".corrupt-" and the time, so that the next open starts an
// empty database. It never deletes: the files are kept for whoever wants
// to find out what damaged them. The caller must own dir; the Builder's
// callers lock the whole state directory (LockDir).
func quarantine(dir string, cause error) error {
	to := dir + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(dir, to); err != nil {
		return fmt.Errorf("move corrupt database %s aside: %w (cause: %v)", dir, err, cause)
	}
	slog.Error("moved a corrupt local table aside; it is rebuilt from its changelog",
		"dir", dir, "moved_to", to, "cause", cause.Error())
	return nil
}
