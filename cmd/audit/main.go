// Command audit checks the books: it reads the accountant's table from
// Kafka, prints the number of accounts, the sum of all balances and each
// processor group's lag, and exits non-zero unless the pipeline has drained
// and the balances sum to 0.00.
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"time"

	"github.com/wallet/wallet/audit"
	"github.com/wallet/wallet/run"
)

func main() {
	c := run.Defaults()
	drain := 30 * time.Second
	run.Main("audit", func(fs *flag.FlagSet) {
		c.BindKafka(fs, "brokers")
		fs.DurationVar(&drain, "drain-timeout", drain, "how long to wait for the processors to catch up")
	}, func(ctx context.Context) error {
		r, err := audit.Run(ctx, c.Kafka, drain)
		if err != nil {
			return err
		}
		r.Print(os.Stdout)
		if !r.OK() {
			return errors.New("the books do not balance")
		}
		return nil
	})
}
