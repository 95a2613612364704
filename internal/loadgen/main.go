// Package loadgen is the load generator behind cmd/loadgen: it drives a
// running wallet with transfers over its HTTP API, waits until the view
// shows every accepted transfer applied, and reports throughput, latencies
// and the Kafka bound measured on the same broker. With -embedded it
// starts the whole system in-process first, so that a CPU profile of
// loadgen (-cpuprofile), or its execution trace (-trace), covers the
// wallet as well. With -processing it measures the processors alone
// instead: the requests are preloaded into the request log and the
// processors are timed from start to zero lag.
package loadgen

import (
	"context"
	"io"
	"log/slog"

	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/run"
)

// Main runs loadgen with the command line args and returns the exit code:
// 0 after a run (or -h), 1 when the run failed, 2 on a usage error. The
// report goes to stdout, usage to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// With -embedded or -processing the wallet runs here: collect garbage
	// as its commands do.
	run.TuneGC()
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return harness.UsageExit("loadgen", err, stderr)
	}
	load := runLoadgen
	if cfg.processing {
		load = runProcessing
	}
	if err := load(ctx, cfg, stdout); err != nil {
		slog.Error("loadgen failed", "error", err)
		return 1
	}
	return 0
}
