package run

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wallet/wallet/rocksdb"
)

// stateFormat names what a state directory holds. Version 1 wrote none:
// its tables hold values version 2 does not read, and there is no
// migration, since the changelogs they are rebuilt from are of version 1
// too.
const stateFormat = "wallet state format 2\n"

// openState locks the state directory dir for this process and checks
// that it was written by this version of the wallet (or is new, and then
// says so in it).
func openState(dir string) (release func() error, err error) {
	release, err = rocksdb.LockDir(dir)
	if err != nil {
		return nil, err
	}
	if err := checkFormat(dir); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

func checkFormat(dir string) error {
	name := filepath.Join(dir, "FORMAT")
	b, err := os.ReadFile(name)
	if err == nil && string(b) == stateFormat {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read state directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() != "LOCK" && e.Name() != "FORMAT" {
			return fmt.Errorf("state directory %s was written by version 1 of the wallet, which version 2 does not read: start afresh by deleting it (with `make run`, delete ./data)", dir)
		}
	}
	if err := os.WriteFile(name, []byte(stateFormat), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
