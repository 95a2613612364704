package chaos

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wallet/wallet/internal/harness"
)

// config is every setting of a chaos run.
type config struct {
	N            int           // transfers to send
	Concurrency  int           // client workers
	Rate         int           // new transfers per second; 0 for no limit
	Accounts     int           // accounts the transfers move money between
	Claimants    int           // concurrent claims of each account name at signup
	Repost       int           // percent of accepted transfers posted again
	Conflict     int           // percent of accepted transfers whose request ID is re-used for another amount
	Processors   int           // processor instances
	Partitions   int           // partitions of every topic, passed to every command
	KillEvery    time.Duration // period of processor kills
	PauseEvery   time.Duration // period of processor pauses
	PauseFor     time.Duration // length of a pause
	RestartAfter time.Duration // delay between a kill and the restart
	BrokerKills  int           // broker kills during the sends
	DrainTimeout time.Duration // bound of the final wait for balances
	TransferWait time.Duration // bound of the retries of one transfer
	Failover     int           // failover measurements after the check
	Dir          string        // work directory; empty for a fresh temporary one
	Bin          string        // directory of prebuilt binaries; empty to build
	Keep         bool          // keep the work directory after a PASS
	Seed         uint64        // seed of the transfers and the chaos schedule
	JSON         bool          // print the summary as JSON
	Verbose      bool          // debug logging
	Inspect      string        // broker address: print the processor groups' state and exit
	Brokers      string        // an external Kafka instead of cmd/broker; no broker kills
}

// parseFlags reads the configuration from args; usage goes to out.
func parseFlags(args []string, out io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, `Usage: go run ./cmd/chaos [flags]

Runs the wallet as real processes (broker, processors, emitter, view), sends
transfers over HTTP while killing processors and the broker with SIGKILL and
pausing processors with SIGSTOP past their session (zombies, fenced by their
successors), then checks that every balance is exactly what the accepted
transfers say.
Prints a summary and exits 0 on PASS, 1 on FAIL, 2 on a usage or setup error.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&c.N, "n", 5000, "number of transfers to send")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "number of concurrent client workers")
	fs.IntVar(&c.Rate, "rate", 0, "send at most this many new transfers per second (0: as fast as the API answers); the chaos lasts as long as the sends, so a rate near the processors' throughput keeps them under chaos while they work")
	fs.IntVar(&c.Accounts, "accounts", 200, "number of accounts (named acct-00000...) the transfers move money between")
	fs.IntVar(&c.Claimants, "claimants", 3, "before the transfers, sign every account up with this many concurrent claims, spelled differently (acct-00042, ACCT-00042, full-width ａｃｃｔ-00042) with different request IDs, while processors are killed; exactly one must own it")
	fs.IntVar(&c.Repost, "repost", 10, "percent of accepted transfers posted again with the same request_id and body, at once or later")
	fs.IntVar(&c.Conflict, "conflict", 1, "percent of accepted transfers between two accounts whose request ID is posted again later with another amount: answered 409 request_id_conflict, or 201 if the API's view did not know the first yet, and never what moves money")
	fs.IntVar(&c.Processors, "processors", 3, "number of processor instances, each with its own state directory")
	fs.IntVar(&c.Partitions, "partitions", 4, "partitions of every topic and table, passed to every command as -partitions")
	fs.DurationVar(&c.KillEvery, "kill-every", 4*time.Second, "kill -9 a random processor this often during the sends (0: never)")
	fs.DurationVar(&c.RestartAfter, "restart-after", time.Second, "restart a killed process (same arguments and state) after this delay")
	fs.DurationVar(&c.PauseEvery, "pause-every", 15*time.Second, "pause a random processor (SIGSTOP) this often during the sends, and resume it (SIGCONT) after -pause-for: a zombie whose partitions another processor takes over meanwhile (0: never)")
	fs.DurationVar(&c.PauseFor, "pause-for", 10*time.Second, "how long a processor stays paused: longer than its session timeout (6 s), so that the others take its partitions over and it comes back a zombie")
	fs.IntVar(&c.BrokerKills, "broker-kills", 1, "kill -9 and restart the broker this many times during the sends, at k/(broker-kills+2) of them (one kill: at a third)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 3*time.Minute, "after the sends, wait at most this long for the balances to become the expected ones")
	fs.DurationVar(&c.TransferWait, "transfer-timeout", 60*time.Second, "retry a transfer answered 503 or not answered for at most this long; after that it is unconfirmed")
	fs.IntVar(&c.Failover, "failover", 1, "after the check, measure the failover this many times with no load: kill -9 a processor, then time a probe transfer through every partition until the view shows it; each time twice, with the processor restarted after -restart-after and held down (survivors take over)")
	fs.StringVar(&c.Dir, "dir", "", "work directory for state, broker data and logs (must be empty or absent); default a fresh temporary directory, removed on PASS")
	fs.StringVar(&c.Bin, "bin", "", "directory holding prebuilt broker, processor, emitter and view binaries; default: build them into <dir>/bin")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory even on PASS")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the random transfers and chaos schedule (0: from the clock; the seed used is printed)")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as JSON instead of text")
	fs.BoolVar(&c.Verbose, "v", false, "log every kill, restart and retry")
	fs.StringVar(&c.Brokers, "brokers", "", "run against the Kafka at this address instead of starting cmd/broker; the broker is not killed (-broker-kills is ignored), and its topics must be fresh, as scripts/kafka/start.sh makes them")
	fs.StringVar(&c.Inspect, "inspect", "", "instead of a run, print the state, members, assignments and lag of the processor groups on the broker at this address (with -partitions), and exit")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	c.Seed = harness.Seed(c.Seed)
	if c.Brokers != "" {
		c.BrokerKills = 0 // the harness cannot restart a broker it did not start
	}
	return c, c.validate()
}

func (c config) validate() error {
	var p harness.Problems
	check := p.Check
	check(c.N >= 0, "-n must be >= 0, got %d", c.N)
	check(c.Concurrency >= 1, "-concurrency must be >= 1, got %d", c.Concurrency)
	check(c.Rate >= 0, "-rate must be >= 0, got %d", c.Rate)
	check(c.Accounts >= 2, "-accounts must be >= 2, got %d", c.Accounts)
	check(c.Claimants >= 1, "-claimants must be >= 1, got %d", c.Claimants)
	check(c.Repost >= 0 && c.Repost <= 100, "-repost must be a percentage 0..100, got %d", c.Repost)
	check(c.Conflict >= 0 && c.Conflict <= 100, "-conflict must be a percentage 0..100, got %d", c.Conflict)
	check(c.Processors >= 1, "-processors must be >= 1, got %d", c.Processors)
	check(c.Partitions >= 1, "-partitions must be >= 1, got %d", c.Partitions)
	check(c.KillEvery >= 0, "-kill-every must be >= 0, got %s", c.KillEvery)
	check(c.RestartAfter >= 0, "-restart-after must be >= 0, got %s", c.RestartAfter)
	check(c.PauseEvery >= 0, "-pause-every must be >= 0, got %s", c.PauseEvery)
	check(c.PauseFor >= 0, "-pause-for must be >= 0, got %s", c.PauseFor)
	check(c.BrokerKills >= 0, "-broker-kills must be >= 0, got %d", c.BrokerKills)
	check(c.DrainTimeout > 0, "-drain-timeout must be > 0, got %s", c.DrainTimeout)
	check(c.TransferWait > 0, "-transfer-timeout must be > 0, got %s", c.TransferWait)
	check(c.Failover >= 0, "-failover must be >= 0, got %d", c.Failover)
	return p.Err()
}
