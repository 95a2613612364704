// Command processor runs every processor group of the topology (today
// signup, paymentd and the accountant). Start several, each with its own -state, to scale out.
// With -http it serves GET /healthz, /readyz and /metrics.
package main

import (
	"context"
	"flag"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	run.Main("processor", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
		c.BindState(fs, "./data/processor")
		c.BindHTTP(fs, "")
		c.BindProcessor(fs)
		c.BindMinFree(fs)
		c.BindLimits(fs)
	}, func(ctx context.Context) error {
		return run.Processors(ctx, c)
	})
}
