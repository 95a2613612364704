// Command topics creates the wallet's topics and tables, then exits: the
// admin principal's step on a broker where no other principal may create
// topics (README, Secured Kafka). The other commands create what is
// missing themselves when they may.
package main

import (
	"context"
	"flag"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	run.Main("topics", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
	}, func(ctx context.Context) error {
		return run.Topics(ctx, c)
	})
}
