// Command audit checks the books (package audit): once the processors have
// drained, it reads the tables and the accountant's changelog from Kafka,
// prints the accounts, the sum of all balances, the transfers by status,
// the dead letters, each processor group's lag and every violation found,
// and exits non-zero unless the books balance (audit.Report.OK).
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
