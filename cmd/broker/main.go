// Command broker runs the embedded Kafka-protocol broker alone, for running
// the other commands as separate processes on one machine.
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
	var addr, data string
	run.Main("broker", func(fs *flag.FlagSet) {
		fs.StringVar(&addr, "addr", "127.0.0.1:9092", "address to listen on (kfake binds 127.0.0.1)")
		fs.StringVar(&data, "data", "./data/broker", "directory of the broker's log")
	}, func() error {
		return run.Broker(ctx, addr, data)
	})
}
