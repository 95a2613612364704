package loadgen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiling starts what cfg asks for over the load and drain
// phases, a CPU profile (-cpuprofile) and an execution trace (-trace),
// until the returned stop is called. `go tool trace -pprof=sched` tells
// from a trace how long goroutines waited to run.
func startProfiling(cfg config) (stop func() error, err error) {
	stopCPU, err := profileTo(cfg.cpuProfile, "cpu profile", pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	stopTrace, err := profileTo(cfg.trace, "trace", trace.Start, trace.Stop)
	if err != nil {
		return nil, errors.Join(err, stopCPU())
	}
	return func() error { return errors.Join(stopTrace(), stopCPU()) }, nil
}

// profileTo creates path and starts writing to it with start, until the
// returned func stops it with stop and closes the file; what names it in
// errors. A no-op for an empty path.
func profileTo(path, what string, start func(io.Writer) error, stop func()) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return func() error {
		stop()
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}, nil
}

// writeHeapProfile writes the live heap to path; a no-op for an empty path.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}
