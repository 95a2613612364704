package harness

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
)

// Parse parses args with fs, which must return its errors
// (flag.ContinueOnError), and refuses positional arguments: a harness
// takes none, so a stray word is a mistyped flag.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// UsageExit returns the exit code of a command line that did not parse:
// 0 after -h (the usage is printed already), else 2, after printing
// "name: err" to stderr.
func UsageExit(name string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 2
}

// Problems collects what is wrong with a configuration, so that a usage
// error names every problem at once.
type Problems []error

// Check adds a problem, formatted as fmt.Errorf does, unless ok.
func (p *Problems) Check(ok bool, format string, args ...any) {
	if !ok {
		*p = append(*p, fmt.Errorf(format, args...))
	}
}

// Err returns the problems joined, or nil for none.
func (p Problems) Err() error { return errors.Join(p...) }

// Seed returns seed, or a random one for 0: a run prints the seed it
// used, so that -seed reproduces it.
func Seed(seed uint64) uint64 {
	if seed == 0 {
		return rand.Uint64()
	}
	return seed
}

// WriteJSON writes v as indented JSON: a report that scripts read and
// people diff.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
