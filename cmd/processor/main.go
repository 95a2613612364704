// Command processor runs both processor groups, paymentd and the
// accountant. Start several, each with its own -state, to scale out.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/wallet/wallet/run"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := run.Defaults()
	run.Main("processor", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
		c.BindState(fs, "./data/processor")
		c.BindProcessor(fs)
	}, func() error {
		return run.Processors(ctx, c)
	})
}
