package loadgen

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
)

// config is every setting of a load run.
type config struct {
	api  string // base URL of the transfer API (POST)
	view string // base URL of the balance API (GET)
	// operator is the operator's key, which deposits and reads every
	// account: read from -operator-key-file, or the embedded system's.
	operator string
	embedded bool // start the whole system in-process
	// processing: preload the requests and time the processors alone
	// (runProcessing).
	processing bool
	keepData   string // directory for the embedded system's data; empty: a temporary one, removed afterwards
	// partitions of the embedded system's topics.
	partitions int
	// fsync: the embedded broker fsyncs every batch (broker.Options.Fsync).
	fsync bool
	// commitInterval: the processors' (run.Config.CommitInterval).
	commitInterval time.Duration
	// streams, with -processing: the command that runs the Kafka Streams
	// harness (scripts/streams/run.sh) in place of the wallet's
	// processors; guarantee is its processing.guarantee.
	streams   string
	guarantee string
	// brokerPID, with -processing: the broker's process, whose CPU time
	// in the timed phase is reported; 0 for none.
	brokerPID int

	n           int // transfers to send
	concurrency int // workers
	rate        int // transfers per second; 0: as fast as possible
	timeout     time.Duration
	retries     int // re-posts of an ambiguous answer (503, no answer) with the same body

	accounts int
	prefix   string
	skew     string // uniform or zipf
	zipfS    float64
	hotShare int // percent of transfers paying the hot merchant
	repost   int // percent of POSTs re-posting an accepted transfer
	// Special shares, percent of the new transfers (conflict: of the POSTs).
	overdraft int // more than the sender can have: rejected insufficient_funds
	unknown   int // to a name never signed up: 404 account_not_found
	withdraw  int // withdrawals
	conflict  int // an accepted transfer's request ID re-used for another amount: 409
	maxCents  int64
	seed      uint64

	probeEvery   int  // a probe is sent every this many transfers
	probeOnly    bool // -probe: serial probes only, every one measured
	drainTimeout time.Duration
	drainConc    int

	bound      bool
	boundN     int
	brokers    []string
	brokersSet bool

	quiet      bool
	jsonOut    bool
	cpuProfile string
	trace      string
	memProfile string
}

// defaultProbes is -n with -probe: serial probes take a few ms each.
const defaultProbes = 1000

func defaultConfig() config {
	return config{
		api:            "http://127.0.0.1:8000",
		partitions:     kafka.DefaultPartitions,
		fsync:          broker.DefaultOptions().Fsync,
		commitInterval: kafka.DefaultCommitInterval,
		guarantee:      "at_least_once",
		n:              100000,
		concurrency:    64,
		timeout:        10 * time.Second,
		retries:        3,
		accounts:       10000,
		skew:           "uniform",
		zipfS:          1.1,
		maxCents:       10000,
		probeEvery:     100,
		overdraft:      2,
		unknown:        1,
		withdraw:       2,
		conflict:       1,
		drainTimeout:   5 * time.Minute,
		drainConc:      16,
		boundN:         200000,
		brokers:        run.Defaults().Kafka.Brokers,
	}
}

// parseFlags parses the command line, with usage and errors written to
// out; flag.ErrHelp after -h.
func parseFlags(args []string, out io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.api, "api", c.api, "base URL of the transfer API (POST /api/v1/transfers)")
	fs.StringVar(&c.view, "view", "", "base URL of the balance API (GET /api/v1/accounts/{a}); default: -api")
	fs.Func("operator-key-file", "file holding the operator's key of the wallet at -api, for the deposits that fund the accounts (or set WALLET_OPERATOR_KEY_FILE); -embedded makes its own", func(name string) error {
		key, err := run.ReadOperatorKey(name)
		c.operator = key
		return err
	})
	if name := os.Getenv("WALLET_OPERATOR_KEY_FILE"); name != "" {
		if key, err := run.ReadOperatorKey(name); err == nil {
			c.operator = key
		}
	}
	fs.BoolVar(&c.embedded, "embedded", false, "start the whole wallet in-process (embedded broker, processors, APIs) on free ports in a temporary directory")
	fs.BoolVar(&c.processing, "processing", false, "processing only: preload -n transfers into the request log (after signing up and funding every account, untimed; with -repost, -overdraft, -unknown and -withdraw shares) and time the processors from their start to zero lag, then check every outcome, status and balance against a model; on a fresh embedded broker unless -brokers (a fresh one: the topics must be empty)")
	fs.StringVar(&c.keepData, "data", "", "with -embedded or -processing: keep the system's data in this directory instead of a temporary one")
	fs.IntVar(&c.partitions, "partitions", c.partitions, "with -embedded or -processing: partitions of every topic")
	fs.BoolVar(&c.fsync, "fsync", c.fsync, "with -embedded or -processing: the embedded broker fsyncs every batch before acknowledging it")
	fs.DurationVar(&c.commitInterval, "commit-interval", c.commitInterval, "with -embedded or -processing: how often, at most, the processors commit each partition's transaction")
	fs.StringVar(&c.streams, "streams", "", "with -processing and -brokers: time this command, the Kafka Streams harness (scripts/streams/run.sh), instead of the wallet's processors; it is started with -brokers, -guarantee, -state-dir and -application-id")
	fs.StringVar(&c.guarantee, "guarantee", c.guarantee, "with -streams: Kafka Streams' processing.guarantee, at_least_once or exactly_once_v2")
	fs.IntVar(&c.brokerPID, "broker-pid", 0, "with -processing and -brokers: the broker's process ID (scripts/kafka/start.sh writes it to .kafka/kafka.pid), whose CPU time in the timed phase is reported")
	fs.IntVar(&c.n, "n", c.n, fmt.Sprintf("transfers to send (with -probe: probes, default %d)", defaultProbes))
	fs.IntVar(&c.concurrency, "concurrency", c.concurrency, "concurrent senders")
	fs.IntVar(&c.rate, "rate", 0, "transfers per second; 0 sends as fast as the senders can")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "HTTP request timeout")
	fs.IntVar(&c.retries, "retries", c.retries, "re-posts of a transfer answered 503 or not at all, with the same body")
	fs.IntVar(&c.accounts, "accounts", c.accounts, "number of accounts")
	fs.StringVar(&c.prefix, "prefix", "", "account name prefix; default lg-<random run id>, so that runs do not collide")
	fs.StringVar(&c.skew, "skew", c.skew, "account choice: uniform or zipf")
	fs.Float64Var(&c.zipfS, "zipf-s", c.zipfS, "Zipf exponent s (> 1) with -skew zipf")
	fs.IntVar(&c.hotShare, "hot-share", 0, "percent of transfers that pay the one hot merchant account <prefix>-merchant")
	fs.IntVar(&c.repost, "repost", 0, "percent of POSTs that re-post an already accepted transfer (same body); with -processing, of the preloaded requests, default 2")
	fs.IntVar(&c.overdraft, "overdraft", c.overdraft, "percent of new transfers that ask for more than the sender can ever have (expected: rejected insufficient_funds)")
	fs.IntVar(&c.unknown, "unknown", c.unknown, "percent of new transfers to a name never signed up (expected: 404 account_not_found from the API; with -processing, rejected account_not_found once the debit is refunded)")
	fs.IntVar(&c.withdraw, "withdraw", c.withdraw, "percent of new transfers that are withdrawals (POST /api/v1/withdrawals)")
	fs.IntVar(&c.conflict, "conflict", c.conflict, "percent of POSTs that re-use an accepted transfer's request ID for another amount (expected: 409 request_id_conflict; never what moves money); not with -processing")
	fs.Int64Var(&c.maxCents, "max-cents", c.maxCents, "largest transfer amount, in cents (amounts are uniform in 1..max)")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed; 0 picks one")
	fs.IntVar(&c.probeEvery, "probe-every", c.probeEvery, "send an apply-latency probe every this many transfers (at most one in flight)")
	fs.BoolVar(&c.probeOnly, "probe", false, "send only -n serial probe transfers and measure the apply latency of every one")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", c.drainTimeout, "how long to wait for the view to show every accepted transfer (with -processing: for the processors to drain, each phase)")
	fs.IntVar(&c.drainConc, "drain-concurrency", c.drainConc, "concurrent GETs while checking balances")
	fs.BoolVar(&c.bound, "bound", false, "measure the raw Kafka bound on the same broker (default true with -embedded or -brokers)")
	fs.IntVar(&c.boundN, "bound-n", c.boundN, "messages produced and consumed to measure the bound")
	fs.Func("brokers", fmt.Sprintf("comma-separated Kafka addresses for -bound when not -embedded (default %q)", strings.Join(c.brokers, ",")), func(s string) error {
		b := kafka.ParseBrokers(s)
		if len(b) == 0 {
			return fmt.Errorf("no address in %q", s)
		}
		c.brokers, c.brokersSet = b, true
		return nil
	})
	fs.BoolVar(&c.quiet, "quiet", false, "no progress bar")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as one JSON object")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the load and drain phases to this file (with -embedded it covers the whole system)")
	fs.StringVar(&c.trace, "trace", "", "write an execution trace of the load and drain phases to this file (go tool trace; with -embedded it covers the whole system)")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile after the drain to this file")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["bound"] {
		c.bound = (c.embedded || c.brokersSet) && !c.processing
	}
	// The processing run's preload has re-posts, and no conflicts: a
	// conflict is refused by the API, or dead-lettered, which is not
	// the workload the processors are compared on.
	if c.processing && !set["repost"] {
		c.repost = 2
	}
	if c.processing && !set["conflict"] {
		c.conflict = 0
	}
	if c.probeOnly && !set["n"] {
		c.n = defaultProbes
	}
	if c.view == "" {
		c.view = c.api
	}
	c.api = strings.TrimRight(c.api, "/")
	c.view = strings.TrimRight(c.view, "/")
	if c.prefix == "" {
		c.prefix = "lg-" + runID()
	}
	return c, c.validate()
}

func (c config) validate() error {
	var p harness.Problems
	check := p.Check
	check(!c.processing || !(c.embedded || c.probeOnly || c.bound || c.conflict > 0 || c.rate > 0), "-processing runs alone: not with -embedded, -probe, -bound, -conflict or -rate")
	check(c.streams == "" || c.processing && c.brokersSet, "-streams needs -processing and -brokers: Kafka Streams runs against Apache Kafka")
	check(c.brokerPID == 0 || c.processing && c.brokersSet, "-broker-pid needs -processing and -brokers")
	check(c.guarantee == "at_least_once" || c.guarantee == "exactly_once_v2", "-guarantee must be at_least_once or exactly_once_v2, not %q", c.guarantee)
	check(c.n > 0, "-n must be positive")
	check(c.concurrency > 0, "-concurrency must be positive")
	check(c.rate >= 0, "-rate must not be negative")
	check(c.accounts >= 2, "-accounts must be at least 2")
	check(c.skew == "uniform" || c.skew == "zipf", "-skew must be uniform or zipf, not %q", c.skew)
	check(c.skew != "zipf" || c.zipfS > 1, "-zipf-s must be greater than 1")
	check(c.hotShare >= 0 && c.hotShare <= 100, "-hot-share must be a percentage")
	check(c.repost >= 0 && c.repost < 100, "-repost must be a percentage below 100")
	check(c.overdraft >= 0 && c.unknown >= 0 && c.withdraw >= 0 && c.overdraft+c.unknown+c.withdraw <= 100,
		"-overdraft, -unknown and -withdraw must be percentages summing to at most 100")
	check(c.conflict >= 0 && c.repost+c.conflict < 100, "-conflict must be a percentage, below 100 with -repost")
	check(c.maxCents >= 1, "-max-cents must be at least 1")
	check(c.probeEvery > 0, "-probe-every must be positive")
	check(c.drainConc > 0, "-drain-concurrency must be positive")
	check(!c.bound || c.boundN > 0, "-bound-n must be positive")
	check(c.partitions > 0, "-partitions must be positive")
	check(c.retries >= 0, "-retries must not be negative")
	check(validPrefix(c.prefix), "-prefix must be 1 to 40 letters, digits, '.', '_' or '-', not %q", c.prefix)
	return p.Err()
}

// validPrefix keeps account names plain ASCII that needs no JSON or URL
// escaping and stays under the wallet's 64-byte limit.
func validPrefix(p string) bool {
	if p == "" || len(p) > 40 {
		return false
	}
	for _, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// runID returns a short random identifier.
func runID() string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
