// Package damage damages the files of a RocksDB database the way a failing
// disk or a careless hand would, for the tests of what the wallet does
// about it. Each damage works on the newest table file (.sst) of the
// database in dir (TableFile), so the data must have been flushed to one
// first.
package damage

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/linxGnu/grocksdb"
)

// Damage is one way to damage a database.
type Damage struct {
	Name string
	Do   func(dir string) error
}

// All is every damage, in a fixed order.
var All = []Damage{
	{"truncate", Truncate},
	{"garble", Garble},
	{"delete", Delete},
}

// Truncate cuts the table file to half its size. RocksDB refuses to open
// the database.
func Truncate(dir string) error {
	f, err := TableFile(dir)
	if err != nil {
		return err
	}
	fi, err := os.Stat(f)
	if err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	if err := os.Truncate(f, fi.Size()/2); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	return nil
}

// Garble inverts 16 bytes at offset 8 of the table file: in its first data
// block, which starts every table file. RocksDB reads a data block, and
// checks its checksum, only when a key in it is read, so the database
// opens and the read fails.
func Garble(dir string) error {
	f, err := TableFile(dir)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return fmt.Errorf("garble: %w", err)
	}
	if len(b) < 24 {
		return fmt.Errorf("garble: %s has only %d bytes", f, len(b))
	}
	for i := 8; i < 24; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(f, b, 0o644); err != nil {
		return fmt.Errorf("garble: %w", err)
	}
	return nil
}

// Delete removes the table file. RocksDB refuses to open the database.
func Delete(dir string) error {
	f, err := TableFile(dir)
	if err != nil {
		return err
	}
	if err := os.Remove(f); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// TableFile returns the newest file of the table (the default column
// family) of the database in dir: the one written last, so that nothing
// newer hides the values in it and reading its keys reads it. The newest
// file of the whole directory may hold only the offset, in its own column
// family, which the wallet reads once at open.
func TableFile(dir string) (string, error) {
	opts := grocksdb.NewDefaultOptions()
	defer opts.Destroy()
	families, err := grocksdb.ListColumnFamilies(opts, dir)
	if err != nil {
		return "", fmt.Errorf("table files of %s: %w", dir, err)
	}
	familyOpts := make([]*grocksdb.Options, len(families))
	for i := range familyOpts {
		familyOpts[i] = opts
	}
	db, handles, err := grocksdb.OpenDbForReadOnlyColumnFamilies(opts, dir, families, familyOpts, false)
	if err != nil {
		return "", fmt.Errorf("table files of %s: %w", dir, err)
	}
	files := db.GetLiveFilesMetaData()
	for _, h := range handles {
		h.Destroy()
	}
	db.Close()

	newest := ""
	for _, f := range files {
		// Names are numbered with leading zeros, so the newest is the
		// greatest.
		if f.ColumnFamilyName == "default" && f.Name > newest {
			newest = f.Name
		}
	}
	if newest == "" {
		return "", fmt.Errorf("no table file in %s (flush the database first)", dir)
	}
	return filepath.Join(dir, newest), nil
}
