package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/disk"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/rocksdb"
)

// Defaults returns the configuration of a command run without flags.
func Defaults() Config {
	return Config{
		Kafka: kafka.Config{
			Brokers:     []string{"127.0.0.1:9092"},
			Partitions:  kafka.DefaultPartitions,
			Replication: 1,
			Retention:   kafka.DefaultRetention,
		},
		Broker:          broker.DefaultOptions(),
		HTTP:            "127.0.0.1:8000",
		Storage:         rocksdb.DefaultOptions(),
		CommitInterval:  kafka.DefaultCommitInterval,
		MaxAmount:       wallet.DefaultMaxAmount,
		MaxOverdraft:    wallet.DefaultMaxOverdraft,
		DecisionTimeout: api.DefaultDecisionTimeout,
		StallAfter:      DefaultStallAfter,
		GiveUpAfter:     DefaultGiveUpAfter,
		MinFree:         disk.DefaultFloor,
		Out:             os.Stdout,
	}
}

// BindKafka declares the flags that say where Kafka is and how the topics
// are laid out.
func (c *Config) BindKafka(fs *flag.FlagSet, name string) {
	fs.Func(name, fmt.Sprintf("comma-separated Kafka bootstrap addresses (default %q)", strings.Join(c.Kafka.Brokers, ",")), func(s string) error {
		brokers := kafka.ParseBrokers(s)
		if len(brokers) == 0 {
			return fmt.Errorf("no address in %q", s)
		}
		c.Kafka.Brokers = brokers
		return nil
	})
	fs.IntVar(&c.Kafka.Partitions, "partitions", c.Kafka.Partitions, "partitions of every topic and table (all must agree)")
	fs.IntVar(&c.Kafka.Replication, "replication", c.Kafka.Replication, "replication factor of new topics")
	fs.IntVar(&c.Kafka.MinInsyncReplicas, "min-insync-replicas", 1, "min.insync.replicas of new topics (2 with -replication 3)")
	fs.DurationVar(&c.Kafka.Retention, "retention", c.Kafka.Retention, "retention of the streams")
	c.bindSecurity(fs)
}

// bindSecurity declares the flags of TLS and SASL. The password has no
// flag, whose value anyone could read in the process list: it comes from
// -kafka-password-file or the environment variable WALLET_KAFKA_PASSWORD.
func (c *Config) bindSecurity(fs *flag.FlagSet) {
	s := &c.Kafka.Security
	fs.BoolVar(&s.TLS, "kafka-tls", s.TLS, "connect to Kafka with TLS, checking its certificate against the system's roots or -kafka-ca-file")
	fs.StringVar(&s.CAFile, "kafka-ca-file", s.CAFile, "PEM file of the certificate authorities Kafka's certificate must chain to")
	fs.StringVar(&s.CertFile, "kafka-cert-file", s.CertFile, "PEM file of this client's certificate, for brokers that authenticate clients by TLS")
	fs.StringVar(&s.KeyFile, "kafka-key-file", s.KeyFile, "PEM file of the key of -kafka-cert-file")
	fs.StringVar(&s.ServerName, "kafka-server-name", s.ServerName, "name Kafka's certificate must carry, if not the host dialled")
	fs.StringVar(&s.Mechanism, "kafka-sasl-mechanism", s.Mechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (none if empty)")
	fs.StringVar(&s.Username, "kafka-username", s.Username, "SASL username")
	s.Password = os.Getenv("WALLET_KAFKA_PASSWORD")
	fs.Func("kafka-password-file", "file holding the SASL password (or set WALLET_KAFKA_PASSWORD)", func(name string) error {
		p, err := kafka.ReadPassword(name)
		if err != nil {
			return err
		}
		s.Password = p
		return nil
	})
}

// BindMinFree declares the free-space floor, below which the processors
// stop consuming (free space under -state) and the embedded broker refuses
// writes (under its data directory), before RocksDB or the broker's log
// fail on a full disk. cmd/wallet runs both, with one floor.
func (c *Config) BindMinFree(fs *flag.FlagSet) {
	fs.Func("min-free", fmt.Sprintf("stop writing while the free space under the state or data directory is below this many bytes: processors stop consuming, the embedded broker refuses writes, which the API answers 503 (default %d; 0 never stops)", c.MinFree), func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return err
		}
		c.MinFree, c.Broker.MinFree = n, n
		return nil
	})
}

// BindBroker declares the embedded broker's flags.
func (c *Config) BindBroker(fs *flag.FlagSet) {
	fs.BoolVar(&c.Broker.Fsync, "fsync", c.Broker.Fsync, "embedded broker: fsync every batch before acknowledging it, so that an acknowledged write survives a power loss (-fsync=false: only a crash of the process)")
}

// BindState declares the flags of the local tables.
func (c *Config) BindState(fs *flag.FlagSet, dir string) {
	c.State = dir
	fs.StringVar(&c.State, "state", c.State, "directory of the local tables (RocksDB)")
	fs.Int64Var(&c.Storage.BlockCacheBytes, "block-cache", c.Storage.BlockCacheBytes, "RocksDB block cache size in bytes")
}

// BindHTTP declares the address of the API.
func (c *Config) BindHTTP(fs *flag.FlagSet, addr string) {
	c.HTTP = addr
	fs.StringVar(&c.HTTP, "http", c.HTTP, "address of the HTTP API")
}

// BindProcessor declares the processors' flags.
func (c *Config) BindProcessor(fs *flag.FlagSet) {
	fs.DurationVar(&c.CommitInterval, "commit-interval", c.CommitInterval, "how often each partition's transaction commits: its outputs, table writes and input offset become visible together (latency against throughput; correctness does not depend on it)")
	fs.DurationVar(&c.StallAfter, "stall-after", c.StallAfter, "report a partition stalled (GET /readyz 503) when its lag stands still this long")
	fs.DurationVar(&c.GiveUpAfter, "give-up-after", c.GiveUpAfter, "exit with an error when a group keeps failing this long without a healthy run")
	fs.BoolFunc("quiet", "do not print a line for every decision", func(string) error {
		c.Out = nil
		return nil
	})
}

// BindLimits declares the largest overdraft limit and the largest
// transfer, which the API and the processors both check: the processors
// dead-letter an instruction above them as written by no processor.
func (c *Config) BindLimits(fs *flag.FlagSet) {
	fs.Func("max-amount", fmt.Sprintf("largest transfer accepted (default %s); the processors dead-letter larger ones, so theirs must be at least the API's", c.MaxAmount), func(s string) error {
		m, err := wallet.ParseMoney(s)
		if err != nil {
			return err
		}
		c.MaxAmount = m
		return nil
	})
	fs.Func("max-overdraft", fmt.Sprintf("largest overdraft limit an account may be signed up with (default %s)", c.MaxOverdraft), func(s string) error {
		m, err := wallet.ParseMoney(s)
		if err != nil {
			return err
		}
		if !m.GreaterThan(wallet.Money{}) {
			return fmt.Errorf("must be at least 0.01 (an account's own limit may still be 0.00)")
		}
		c.MaxOverdraft = m
		return nil
	})
}

// BindAPI declares the write side's flags.
func (c *Config) BindAPI(fs *flag.FlagSet) {
	fs.DurationVar(&c.DecisionTimeout, "decision-timeout", c.DecisionTimeout, "how long POST /api/v1/accounts waits for the signup decision before answering 202")
}

// BindAuth declares how the API authenticates its clients beyond the
// accounts' API keys: the operator's key, which has no flag whose value
// anyone could read in the process list, only a file, and an optional
// identity provider.
func (c *Config) BindAuth(fs *flag.FlagSet) {
	fs.Func("operator-key-file", "file holding the operator's key, which makes deposits and reads every account (or set WALLET_OPERATOR_KEY_FILE; none: no operator)", func(name string) error {
		key, err := ReadOperatorKey(name)
		if err != nil {
			return err
		}
		c.OperatorKey = key
		return nil
	})
	fs.StringVar(&c.OIDC.Issuer, "oidc-issuer", c.OIDC.Issuer, "accept bearer tokens (JWTs) issued by this OpenID Connect issuer URL, besides API keys (none if empty)")
	fs.StringVar(&c.OIDC.Audience, "oidc-audience", c.OIDC.Audience, "the audience (aud) a token of -oidc-issuer must carry")
	fs.StringVar(&c.OIDC.Claim, "oidc-claim", "preferred_username", "the claim of a token of -oidc-issuer that names the wallet username")
}

// ReadOperatorKey returns the operator's key held by the file name.
func ReadOperatorKey(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read the operator's key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < 32 || strings.ContainsAny(key, " \t\r\n") {
		return "", fmt.Errorf("operator key file %s must hold one key of at least 32 characters (make one with: wallet -data DIR, which writes DIR/operator.key)", name)
	}
	return key, nil
}

// OperatorKeyFile returns the operator's key in the file name, first
// writing a new one there (readable by its owner alone) if the file does
// not exist: cmd/wallet keeps one in its data directory, so that make run
// has an operator from the start.
func OperatorKeyFile(name string) (string, error) {
	key, err := wallet.NewOperatorKey()
	if err != nil {
		return "", fmt.Errorf("make the operator's key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return "", fmt.Errorf("make the operator's key: %w", err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		slog.Info("the operator's key is in "+name, "file", name)
		return ReadOperatorKey(name)
	case err != nil:
		return "", fmt.Errorf("write the operator's key: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write the operator's key: %w", err)
	}
	slog.Info("wrote a new operator's key to "+name+": deposits and the list of accounts need it (Authorization: Bearer $(cat "+name+"))", "file", name)
	return key, nil
}

// Main runs a command's service under flags until it returns or the
// process is interrupted, then exits: 0 when it stopped cleanly, 1 with a
// one-line message when it failed.
func Main(name string, bind func(fs *flag.FlagSet), service func(ctx context.Context) error) {
	TuneGC()
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	bind(fs)
	if err := ParseFlags(fs, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// GCPercent is the garbage collector's target where the environment's
// GOGC sets none: between collections the heap grows to five times what
// is live, not Go's twice. The wallet allocates for every message and
// keeps little (about 60-90 MiB live under load), so each collection
// costs about the same and a fourth as many of them cost a fourth as much:
// the processors' CPU a transfer fell about 15%, and their peak resident
// memory rose from about 320 to about 600 MiB (docs/BENCHMARKS.md).
const GCPercent = 400

// TuneGC sets the garbage collector's target to GCPercent, unless GOGC
// sets one. Every command does it (Main), and so does loadgen, which runs
// the wallet in its own process.
func TuneGC() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(GCPercent)
	}
}

// SecurityFromEnv returns the Kafka security settings the commands would
// take from the environment alone (WALLET_KAFKA_TLS, WALLET_KAFKA_CA_FILE,
// WALLET_KAFKA_SASL_MECHANISM, WALLET_KAFKA_USERNAME, WALLET_KAFKA_PASSWORD
// or WALLET_KAFKA_PASSWORD_FILE, ...): for the harnesses and tests that
// start or stand beside those commands and must reach the same Kafka.
func SecurityFromEnv() (kafka.Security, error) {
	var c Config
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	c.bindSecurity(fs)
	if err := ParseFlags(fs, nil); err != nil {
		return kafka.Security{}, err
	}
	return c.Kafka.Security, c.Kafka.Security.Check()
}
