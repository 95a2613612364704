// Command loadgen drives a running wallet with transfers over its HTTP API,
// waits until the view shows every accepted transfer applied, and reports
// throughput, latencies and the Kafka bound measured on the same broker.
// With -embedded it starts the whole system in-process first, so that a
// CPU profile of loadgen (-cpuprofile) profiles the wallet as well.
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
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runLoadgen(ctx, cfg, os.Stdout); err != nil {
		slog.Error("loadgen failed", "error", err)
		stop()
		os.Exit(1)
	}
}
