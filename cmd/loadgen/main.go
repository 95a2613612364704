// Command loadgen drives a running wallet with transfers over its HTTP API,
// waits until the view shows every accepted transfer applied, and reports
// throughput, latencies and the Kafka bound measured on the same broker.
// With -embedded it starts the whole system in-process first, so that a
// CPU profile of loadgen (-cpuprofile), or its execution trace (-trace),
// covers the wallet as well. The generator is in internal/loadgen.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wallet/wallet/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadgen.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
