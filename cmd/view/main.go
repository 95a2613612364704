// Command view serves the read side of the wallet's API, accounts,
// balances and transfers' statuses, from local copies of the signup,
// transfer and accountant tables (run.View).
package main

import (
	"context"
	"flag"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	run.Main("view", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
		c.BindHTTP(fs, "127.0.0.1:8001")
		c.BindAuth(fs)
		c.BindState(fs, "./data/view")
	}, func(ctx context.Context) error {
		return run.View(ctx, c)
	})
}
