// Package chaos is the chaos harness behind cmd/chaos: it runs the wallet
// as real processes (the embedded broker, several processors, the emitter
// and the view), signs accounts up and sends transfers over HTTP,
// authenticated with each account's API key and the operator's, while
// killing processors and the broker with SIGKILL and pausing processors
// with SIGSTOP, and then checks that every balance is exactly what the
// accepted transfers say and that the balances sum to zero.
package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/wallet/wallet/internal/harness"
)

// Main runs the harness with the command line args and returns the exit
// code: 0 on PASS, 1 on FAIL and 2 when the run could not be set up. The
// summary goes to stdout, usage and logs to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return harness.UsageExit("chaos", err, stderr)
	}
	level := slog.LevelInfo
	if c.Verbose {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	if c.Inspect != "" {
		groups, err := kafkaState(ctx, c.Inspect, c.Partitions)
		if err != nil {
			fmt.Fprintf(stderr, "chaos: %v\n", err)
			return 2
		}
		for _, g := range groups {
			fmt.Fprintln(stdout, g)
		}
		return 0
	}
	dir, created, err := workDir(c.Dir)
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		return 2
	}
	s, err := run(ctx, c, dir)
	code := 0
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		code = 2
	default:
		s.finish()
		if err := s.write(stdout, c.JSON); err != nil {
			fmt.Fprintf(stderr, "chaos: %v\n", err)
		}
		if !s.Pass {
			code = 1
		}
	}
	if code == 0 && created && !c.Keep {
		if err := os.RemoveAll(dir); err != nil {
			slog.Warn("remove work directory", "dir", dir, "error", err)
		}
		return 0
	}
	fmt.Fprintf(stderr, "chaos: work directory kept: %s (process logs in %s/logs)\n", dir, dir)
	return code
}
