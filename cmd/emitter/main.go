// Command emitter serves the write side of the wallet's API: transfers,
// deposits, withdrawals, signups and API key changes, which it answers
// from local copies of the signup and transfer tables (run.Emitter).
package main

import (
	"context"
	"flag"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	run.Main("emitter", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
		c.BindHTTP(fs, "127.0.0.1:8000")
		c.BindAuth(fs)
		c.BindState(fs, "./data/emitter")
		c.BindAPI(fs)
		c.BindLimits(fs)
	}, func(ctx context.Context) error {
		return run.Emitter(ctx, c)
	})
}
