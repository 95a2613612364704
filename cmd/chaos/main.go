// Command chaos runs the wallet as real processes (the embedded broker,
// several processors, the emitter and the view), sends transfers over HTTP
// while killing processors and the broker with SIGKILL, and then checks
// that every balance is exactly what the accepted transfers say and that
// the balances sum to zero.
//
//	go run ./cmd/chaos -n 5000
//
// It prints a summary and exits 0 on PASS, 1 on FAIL and 2 when the run
// could not be set up. The work directory (state, broker log, process
// logs in logs/) is kept unless the run passed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 2
	}
	level := slog.LevelInfo
	if c.Verbose {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.Inspect != "" {
		groups, err := kafkaState(ctx, c.Inspect, c.Partitions)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
			return 2
		}
		for _, g := range groups {
			fmt.Println(g)
		}
		return 0
	}
	dir, created, err := workDir(c.Dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 2
	}
	s, err := run(ctx, c, dir)
	code := 0
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		code = 2
	default:
		s.finish()
		if err := s.write(os.Stdout, c.JSON); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
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
	fmt.Fprintf(os.Stderr, "chaos: work directory kept: %s (process logs in %s/logs)\n", dir, dir)
	return code
}
