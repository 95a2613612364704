// Command emitter serves the transfer API, the write side of the wallet.
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
		c.BindAPI(fs)
	}, func(ctx context.Context) error {
		return run.Emitter(ctx, c)
	})
}
