// Command wallet runs the whole wallet in one process: the embedded broker,
// every processor group and both sides of the API on one HTTP port.
package main

import (
	"context"
	"flag"
	"path/filepath"

	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	var data string
	var external bool
	run.Main("wallet", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "kafka")
		c.BindHTTP(fs, "127.0.0.1:8000")
		c.BindProcessor(fs)
		c.BindMinFree(fs)
		c.BindAPI(fs)
		c.BindAuth(fs)
		c.BindLimits(fs)
		c.BindBroker(fs)
		fs.StringVar(&data, "data", "./data", "directory of the broker's log and the local tables")
		fs.BoolVar(&external, "external", false, "use the Kafka at -kafka instead of starting the embedded broker there")
	}, func(ctx context.Context) error {
		c.State = filepath.Join(data, "state")
		if c.OperatorKey == "" {
			key, err := run.OperatorKeyFile(filepath.Join(data, "operator.key"))
			if err != nil {
				return err
			}
			c.OperatorKey = key
		}
		brokerDir := filepath.Join(data, "broker")
		if external {
			brokerDir = ""
		}
		return run.All(ctx, c, brokerDir)
	})
}
