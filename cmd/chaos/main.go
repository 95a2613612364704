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
// logs in logs/) is kept unless the run passed. The harness is in
// internal/chaos.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wallet/wallet/internal/chaos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := chaos.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
