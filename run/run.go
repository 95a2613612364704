// Package run holds the wallet's runnable services, wired from one Config:
// Topics, Processors (every group of the topology), Emitter (the write
// side of the API), View (the read side), Broker (the embedded broker) and
// All (everything in one process), and the flags and environment variables
// that set a Config (Defaults, the Bind methods, Main). The commands in
// cmd/ only bind their flags and call these, and the integration tests run
// the same code.
package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/emitter"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/views"
)

// Config is every setting of every service; each command uses the part it
// needs.
type Config struct {
	Kafka kafka.Config
	// Broker tunes the embedded broker, where this process starts one.
	Broker broker.Options
	// HTTP is the address the API listens on.
	HTTP string
	// State is the directory of the local tables (RocksDB).
	State string
	// Storage tunes RocksDB.
	Storage rocksdb.Options
	// CommitInterval is how often the processors commit each partition's
	// transaction (kafka.Transactions).
	CommitInterval time.Duration
	// MaxAmount is the largest transfer the API accepts.
	MaxAmount wallet.Money
	// MaxOverdraft is the largest overdraft limit an account may be signed
	// up with, checked by the API and the signup group.
	MaxOverdraft wallet.Money
	// DecisionTimeout is how long POST /api/v1/accounts waits for the
	// signup group's decision.
	DecisionTimeout time.Duration
	// OperatorKey is the operator's key, read from a file; "" for no
	// operator.
	OperatorKey string
	// OIDC configures bearer tokens of an identity provider; an empty
	// Issuer accepts none.
	OIDC api.OIDCConfig
	// StallAfter is how long a partition's lag may stand still before the
	// processors report it stalled.
	StallAfter time.Duration
	// GiveUpAfter is how long a processor group may keep failing before
	// the process exits.
	GiveUpAfter time.Duration
	// MinFree is the free space, in bytes, under State below which the
	// processors stop consuming.
	MinFree uint64
	// Out receives the accountant's primer lines; nil for none.
	Out io.Writer
	// Ready, if set, receives the HTTP address once the server listens.
	Ready chan<- string
}

// prepare opens the state directory c.State for this process and
// connects to Kafka: what every service with local tables does first.
func prepare(c Config) (release func() error, err error) {
	release, err = openState(c.State)
	if err != nil {
		return nil, err
	}
	if err := connect(c); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// connect checks that Kafka answers and holds no topics of version 1, and
// creates the wallet's topics.
func connect(c Config) error {
	if err := c.Kafka.Ping(); err != nil {
		return err
	}
	if err := c.Kafka.RefuseVersion1(); err != nil {
		return err
	}
	return c.Kafka.EnsureTopics()
}

// Topics creates the wallet's topics and checks their partitions, then
// returns: the admin principal's step where no other may create topics.
func Topics(ctx context.Context, c Config) error {
	return connect(c)
}

// Processors runs the processor groups until ctx is done, and serves
// their probes on c.HTTP unless it is empty. Start several with their own
// State to scale out: consumer-group rebalancing splits the partitions
// between them. Kafka must answer at start; after that a group that stops
// on an error (the broker went away, say) is started again after a pause,
// so that a broker restart does not become a crash loop of the process,
// until it has failed for longer than c.GiveUpAfter.
func Processors(ctx context.Context, c Config) error {
	release, err := prepare(c)
	if err != nil {
		return err
	}
	defer release()
	p := newProcessing(c)
	g, ctx := errgroup.WithContext(ctx)
	if c.HTTP != "" {
		mux := http.NewServeMux()
		api.Probes(mux, p.checks())
		g.Go(func() error { return serve(ctx, c, withGoka(mux, p.web)) })
	}
	g.Go(func() error { return p.run(ctx) })
	return g.Wait()
}

// Emitter serves the write side of the API until ctx is done: transfers,
// deposits, withdrawals and signups, with views of the signup and transfer
// tables in c.State to answer with the decisions.
func Emitter(ctx context.Context, c Config) error {
	release, err := prepare(c)
	if err != nil {
		return err
	}
	defer release()
	s, err := writeSide(c)
	if err != nil {
		return err
	}
	defer s.close()
	v, err := newViews(c, false)
	if err != nil {
		return err
	}
	s.Signups, s.States = v.signups, v.transfers
	if err := c.authenticate(ctx, &s.Server); err != nil {
		return err
	}
	kafkaState := newStates()
	s.Checks = map[string]api.Check{"kafka": kafkaState.check("kafka")}
	web := newGokaWeb()
	web.addViews(v.gokaViews()...)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { watchKafka(ctx, c, kafkaState); return nil })
	g.Go(func() error { return v.run(ctx) })
	g.Go(func() error { return serve(ctx, c, withGoka(s.Handler(), web)) })
	return g.Wait()
}

// View serves the read side of the API until ctx is done: accounts and
// transfers, from views of the three tables kept in c.State.
func View(ctx context.Context, c Config) error {
	release, err := prepare(c)
	if err != nil {
		return err
	}
	defer release()
	s, v, err := readSide(c)
	if err != nil {
		return err
	}
	if err := c.authenticate(ctx, s); err != nil {
		return err
	}
	kafkaState := newStates()
	s.Checks = map[string]api.Check{"kafka": kafkaState.check("kafka")}
	web := newGokaWeb()
	web.addViews(v.gokaViews()...)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { watchKafka(ctx, c, kafkaState); return nil })
	g.Go(func() error { return v.run(ctx) })
	g.Go(func() error { return serve(ctx, c, withGoka(s.Handler(), web)) })
	return g.Wait()
}

// All runs everything in one process until ctx is done: the embedded
// broker with its log in brokerDir (unless brokerDir is empty and Kafka is
// elsewhere), the processors, and both sides of the API on one HTTP port.
// The views' state is in c.State/view, the processors' in
// c.State/processor.
func All(ctx context.Context, c Config, brokerDir string) error {
	if brokerDir != "" {
		b, err := broker.Start(c.Kafka.Brokers[0], brokerDir, c.Broker)
		if err != nil {
			return err
		}
		defer b.Close()
		slog.Info("embedded broker started", "addr", b.Addr(), "data", brokerDir)
	}
	viewState := c
	viewState.State = filepath.Join(c.State, "view")
	release, err := openState(viewState.State)
	if err != nil {
		return err
	}
	defer release()
	if err := connect(c); err != nil {
		return err
	}
	w, err := writeSide(c)
	if err != nil {
		return err
	}
	defer w.close()
	s, v, err := readSide(viewState)
	if err != nil {
		return err
	}
	s.Transfers, s.Claims, s.MaxAmount = w.Transfers, w.Claims, w.MaxAmount
	if err := c.authenticate(ctx, s); err != nil {
		return err
	}
	procState := c
	procState.State = filepath.Join(c.State, "processor")
	releaseProc, err := openState(procState.State)
	if err != nil {
		return err
	}
	defer releaseProc()
	p := newProcessing(procState)
	s.Checks = p.checks()
	s.Checks["kafka"] = p.states.check("kafka")
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { watchKafka(ctx, c, p.states); return nil })
	p.web.addViews(v.gokaViews()...)
	g.Go(func() error { return p.run(ctx) })
	g.Go(func() error { return v.run(ctx) })
	g.Go(func() error { return serve(ctx, c, withGoka(s.Handler(), p.web)) })
	return g.Wait()
}

// authenticate sets how s authenticates its clients beyond the accounts'
// API keys: the operator's key and, if configured, an identity provider,
// whose discovery document is fetched now.
func (c Config) authenticate(ctx context.Context, s *api.Server) error {
	s.Operator = c.OperatorKey
	if c.OperatorKey == "" {
		slog.Warn("no operator key (-operator-key-file): no deposits, and no one lists the accounts")
	}
	if c.OIDC.Issuer == "" {
		return nil
	}
	if c.OIDC.HTTPClient == nil {
		// The keys are fetched in the background of the first token
		// signed with each: a provider that hangs must not hold them.
		c.OIDC.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	tokens, err := api.NewOIDC(ctx, c.OIDC)
	if err != nil {
		return err
	}
	s.Tokens = tokens
	return nil
}

// writer is the write side of the API with the emitters it holds.
type writer struct {
	api.Server
	transfers *emitter.Transfers
	claims    *emitter.Claims
}

func writeSide(c Config) (*writer, error) {
	transfers, err := emitter.NewTransfers(c.Kafka.Brokers, c.Kafka.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	claims, err := emitter.NewClaims(c.Kafka.Brokers, c.Kafka.EmitterOptions()...)
	if err != nil {
		transfers.Close()
		return nil, err
	}
	return &writer{
		Server:    api.Server{Transfers: transfers, Claims: claims, MaxAmount: c.MaxAmount, Partitions: c.Kafka.Partitions, MaxOverdraft: c.MaxOverdraft, DecisionTimeout: c.DecisionTimeout},
		transfers: transfers,
		claims:    claims,
	}, nil
}

func (w *writer) close() {
	for _, err := range []error{w.transfers.Close(), w.claims.Close()} {
		if err != nil {
			slog.Warn("close emitter", "error", err)
		}
	}
}

// readSide returns the read side of the API and its views, which v.run
// keeps up to date.
func readSide(c Config) (*api.Server, *viewSet, error) {
	v, err := newViews(c, true)
	if err != nil {
		return nil, nil, err
	}
	return &api.Server{Signups: v.signups, States: v.transfers, Accounts: v.accounts,
		MaxOverdraft: c.MaxOverdraft, DecisionTimeout: c.DecisionTimeout, Partitions: c.Kafka.Partitions}, v, nil
}

// viewSet is the views one side of the API reads, kept in c.State.
type viewSet struct {
	signups   *views.Signups
	transfers *views.Transfers
	accounts  *views.Accounts // nil on the write side
}

func newViews(c Config, accounts bool) (*viewSet, error) {
	var v viewSet
	// A view that finds its local copy damaged while it runs is opened
	// again, which moves the damaged partition aside and recovers it from
	// the changelog. All views of the set are: the others reopen their
	// undamaged copies where they were.
	storage := c.Storage
	storage.OnCorrupt = func(string) { v.rebuild() }
	opts := append(c.Kafka.ViewOptions(), goka.WithViewStorageBuilder(rocksdb.Builder(c.State, storage)))
	b := c.bounds()
	var err error
	if v.signups, err = views.NewSignups(c.Kafka.Brokers, b, opts...); err != nil {
		return nil, err
	}
	if v.transfers, err = views.NewTransfers(c.Kafka.Brokers, b, opts...); err != nil {
		return nil, err
	}
	if accounts {
		if v.accounts, err = views.NewAccounts(c.Kafka.Brokers, b, opts...); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// rebuild opens every view of the set again.
func (v *viewSet) rebuild() {
	v.signups.Rebuild()
	v.transfers.Rebuild()
	if v.accounts != nil {
		v.accounts.Rebuild()
	}
}

// gokaViews returns the views of the set for goka's pages.
func (v *viewSet) gokaViews() []gokaView {
	views := []gokaView{v.signups, v.transfers}
	if v.accounts != nil {
		views = append(views, v.accounts)
	}
	return views
}

// run keeps the views up to date until ctx is done.
func (v *viewSet) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return v.signups.Run(ctx) })
	g.Go(func() error { return v.transfers.Run(ctx) })
	if v.accounts != nil {
		g.Go(func() error { return v.accounts.Run(ctx) })
	}
	return g.Wait()
}

// Broker runs the embedded broker alone until ctx is done.
// With secure, it takes SASL SCRAM-SHA-512 only, from the principals of
// the roles (wallet-admin, wallet-api, wallet-processor, wallet-view)
// with their ACLs, whose passwords it keeps in dir/credentials.
func Broker(ctx context.Context, addr, dir string, o broker.Options, secure bool) error {
	if secure {
		creds := filepath.Join(dir, "credentials")
		users, err := broker.Credentials(creds)
		if err != nil {
			return err
		}
		o.Users = users
		slog.Info("embedded broker secured: SASL SCRAM-SHA-512 and the roles' ACLs", "passwords", creds)
	}
	b, err := broker.Start(addr, dir, o)
	if err != nil {
		return err
	}
	defer b.Close()
	slog.Info("embedded broker started", "addr", b.Addr(), "data", dir)
	<-ctx.Done()
	return nil
}

// serve serves h on c.HTTP until ctx is done, then shuts down.
func serve(ctx context.Context, c Config, h http.Handler) error {
	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTP, err)
	}
	srv := api.NewHTTPServer(c.HTTP, h)
	slog.Info("serving HTTP", "addr", ln.Addr().String())
	if c.Ready != nil {
		c.Ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve HTTP on %s: %w", c.HTTP, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down HTTP on %s: %w", c.HTTP, err)
	}
	return nil
}

func wrap(what string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ParseFlags parses args into fs after reading each flag's environment
// variable: WALLET_ and the flag's name in upper case, dashes as
// underscores (-max-amount reads WALLET_MAX_AMOUNT). Flags on the command
// line win.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "WALLET_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
