// Command broker runs the embedded Kafka-protocol broker alone, for running
// the other commands as separate processes on one machine.
package main

import (
	"context"
	"flag"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	var addr, data string
	var secure bool
	run.Main("broker", func(fs *flag.FlagSet) {
		fs.StringVar(&addr, "addr", "127.0.0.1:9092", "address to listen on (kfake binds 127.0.0.1)")
		fs.StringVar(&data, "data", "./data/broker", "directory of the broker's log")
		c.BindBroker(fs)
		fs.BoolVar(&secure, "secure", false, "take SASL SCRAM-SHA-512 only, from the principals wallet-admin, wallet-api, wallet-processor and wallet-view, with their ACLs; their passwords are kept in <data>/credentials")
		c.BindMinFree(fs)
	}, func(ctx context.Context) error {
		return run.Broker(ctx, addr, data, c.Broker, secure)
	})
}
