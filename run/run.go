// Package run holds the wallet's runnable services, wired from their
// configuration: the processors, the transfer API, the balance view and the
// embedded broker. The commands in cmd/ only parse flags and call these, and
// the integration tests run the same code.
package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/topology"
	"github.com/wallet/wallet/views"
)

// Config is every setting of every service; each command uses the part it
// needs.
type Config struct {
	Kafka kafka.Config
	// HTTP is the address the API listens on.
	HTTP string
	// State is the directory of the local tables (RocksDB).
	State string
	// Storage tunes RocksDB.
	Storage rocksdb.Options
	// Dedupe bounds the accountant's dedupe sets.
	Dedupe wallet.DedupeBound
	// Window is the accountant's window in messages per partition
	// (processors.Accountant.Window).
	Window int64
	// MaxAmount is the largest transfer the API accepts.
	MaxAmount wallet.Money
	// Out receives the accountant's primer lines; nil for none.
	Out io.Writer
	// Ready, if set, receives the HTTP address once the server listens.
	Ready chan<- string
}

// connect checks that Kafka answers and creates the wallet's topics.
func connect(c Config) error {
	if err := c.Kafka.Ping(); err != nil {
		return err
	}
	k := c.Kafka
	k.DedupeMaxAge = c.Dedupe.MaxAge
	return k.EnsureTopics()
}

// Processors runs paymentd and the accountant until ctx is done. Start
// several with their own State to scale out: consumer-group rebalancing
// splits the partitions between them. Kafka must answer at start; after
// that, when the processors stop on an error (the broker went away, say)
// they are started again after a pause, so that a broker restart does not
// become a crash loop of the process.
func Processors(ctx context.Context, c Config) error {
	release, err := rocksdb.LockDir(c.State)
	if err != nil {
		return err
	}
	defer release()
	if err := connect(c); err != nil {
		return err
	}
	const maxPause = 10 * time.Second
	pause := time.Second
	for {
		started := time.Now()
		err := runProcessors(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			pause = time.Second
		}
		slog.Error("processors stopped; starting them again", "error", err, "in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// runProcessors runs both groups once, until ctx is done or one fails.
func runProcessors(ctx context.Context, c Config) error {
	opts := append(c.Kafka.ProcessorOptions(), goka.WithStorageBuilder(rocksdb.Builder(c.State, c.Storage)))
	pay, err := processors.NewPayments(c.Kafka.Brokers, opts...)
	if err != nil {
		return fmt.Errorf("create paymentd: %w", err)
	}
	acc, err := processors.NewAccountant(c.Kafka.Brokers, processors.Accountant{
		Dedupe: c.Dedupe,
		Window: c.Window,
		Scan: func(partition int32, from, to int64, fn func(int64, string, []byte)) error {
			return c.Kafka.ReadPartition(string(topology.Payments), partition, from, to, time.Minute, fn)
		},
		Out: c.Out,
	}, opts...)
	if err != nil {
		return fmt.Errorf("create accountant: %w", err)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return wrap("paymentd", pay.Run(ctx)) })
	g.Go(func() error { return wrap("accountant", acc.Run(ctx)) })
	return g.Wait()
}

// Emitter serves the transfer API until ctx is done.
func Emitter(ctx context.Context, c Config) error {
	if err := connect(c); err != nil {
		return err
	}
	transfers, err := emitter.NewTransfers(c.Kafka.Brokers, c.Kafka.EmitterOptions()...)
	if err != nil {
		return err
	}
	defer transfers.Close()
	return serve(ctx, c, &api.Server{Transfers: transfers, MaxAmount: c.MaxAmount})
}

// View serves the balance API until ctx is done.
func View(ctx context.Context, c Config) error {
	release, err := rocksdb.LockDir(c.State)
	if err != nil {
		return err
	}
	defer release()
	if err := connect(c); err != nil {
		return err
	}
	accounts, err := newAccounts(c)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return accounts.Run(ctx) })
	g.Go(func() error { return serve(ctx, c, &api.Server{Accounts: accounts}) })
	return g.Wait()
}

func newAccounts(c Config) (*views.Accounts, error) {
	opts := append(c.Kafka.ViewOptions(), goka.WithViewStorageBuilder(rocksdb.Builder(c.State, c.Storage)))
	return views.NewAccounts(c.Kafka.Brokers, opts...)
}

// All runs everything in one process until ctx is done: the embedded
// broker with its log in brokerDir (unless brokerDir is empty and Kafka is
// elsewhere), the processors, and both APIs on one HTTP port.
func All(ctx context.Context, c Config, brokerDir string) error {
	if brokerDir != "" {
		b, err := broker.Start(c.Kafka.Brokers[0], brokerDir)
		if err != nil {
			return err
		}
		defer b.Close()
		slog.Info("embedded broker started", "addr", b.Addr(), "data", brokerDir)
	}
	if err := connect(c); err != nil {
		return err
	}
	transfers, err := emitter.NewTransfers(c.Kafka.Brokers, c.Kafka.EmitterOptions()...)
	if err != nil {
		return err
	}
	defer transfers.Close()
	viewState := c
	viewState.State = filepath.Join(c.State, "view")
	release, err := rocksdb.LockDir(viewState.State)
	if err != nil {
		return err
	}
	defer release()
	accounts, err := newAccounts(viewState)
	if err != nil {
		return err
	}
	procState := c
	procState.State = filepath.Join(c.State, "processor")
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return Processors(ctx, procState) })
	g.Go(func() error { return accounts.Run(ctx) })
	g.Go(func() error {
		return serve(ctx, c, &api.Server{Transfers: transfers, Accounts: accounts, MaxAmount: c.MaxAmount})
	})
	return g.Wait()
}

// Broker runs the embedded broker alone until ctx is done.
func Broker(ctx context.Context, addr, dir string) error {
	b, err := broker.Start(addr, dir)
	if err != nil {
		return err
	}
	defer b.Close()
	slog.Info("embedded broker started", "addr", b.Addr(), "data", dir)
	<-ctx.Done()
	return nil
}

// serve runs the API on c.HTTP until ctx is done, then shuts down.
func serve(ctx context.Context, c Config, s *api.Server) error {
	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTP, err)
	}
	srv := api.NewHTTPServer(c.HTTP, s.Handler())
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
