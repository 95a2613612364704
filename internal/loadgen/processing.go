package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// lagPoll is how often the lag is read while the processors work: the
// timed phase ends at most this much after they finish (plus their commit
// interval, 200 ms).
const lagPoll = 20 * time.Millisecond

// runProcessing measures the processors alone, the way stream processors
// are usually compared: the requests are in the log before the processors
// start, and the clock runs from their start until no group lags.
//
// Setup, not timed: every account is signed up with the largest overdraft
// limit and given one deposit, and the processors run until they are
// idle, then stop. Timed: -n transfers are preloaded, the processors start
// again on the same state, and the clock stops once every transfer's
// outcome is in wallet.transfer_request and no (group, input) pair lags.
func runProcessing(ctx context.Context, cfg config, out io.Writer) (err error) {
	seed := harness.Seed(cfg.seed)
	dir, cleanup, err := dataDir(cfg.keepData, "loadgen-processing-")
	if err != nil {
		return err
	}
	defer cleanup()

	rc := run.Defaults()
	rc.Kafka.Partitions = cfg.partitions
	rc.Broker.Fsync = cfg.fsync
	rc.CommitInterval = cfg.commitInterval
	rc.State = filepath.Join(dir, "state")
	rc.Out = nil
	brokerName := "embedded"
	if cfg.brokersSet {
		rc.Kafka.Brokers, brokerName = cfg.brokers, strings.Join(cfg.brokers, ",")
	} else {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		b, err := broker.Start(addr, filepath.Join(dir, "broker"), rc.Broker)
		if err != nil {
			return err
		}
		defer b.Close()
		rc.Kafka.Brokers = []string{b.Addr()}
	}
	if err := rc.Kafka.Ping(); err != nil {
		return err
	}
	if err := rc.Kafka.EnsureTopics(); err != nil {
		return err
	}
	w, err := newLagWatcher(rc.Kafka)
	if err != nil {
		return err
	}
	defer w.close()
	p, err := newPreloader(ctx, rc.Kafka.Brokers)
	if err != nil {
		return err
	}
	defer p.close()

	// The transfers have a random source of their own, so that one seed
	// gives the same transfers whatever the set-up drew.
	rng, trng := rand.New(rand.NewPCG(seed, 2)), rand.New(rand.NewPCG(seed, 3))
	names := newAccounts(cfg, trng)
	rep := &processingReport{Scenario: newScenario(cfg), Broker: brokerName, Seed: seed, Revision: revision(), NumCPU: runtime.NumCPU()}
	slog.Info("processing-only run", "n", cfg.n, "accounts", cfg.accounts, "skew", cfg.skew, "hot_share", cfg.hotShare,
		"partitions", cfg.partitions, "prefix", cfg.prefix, "broker", brokerName, "data", dir)

	if err := setUp(ctx, cfg, rc, w, p, rng, names, rep); err != nil {
		return err
	}

	// The timed phase's inputs, and where every topic stood before them.
	topics := []string{string(topology.TransferRequests), string(topology.Instructions), string(topology.TransferTable),
		string(topology.AccountTable), string(topology.DeadLetters)}
	from := map[string]offsets{}
	for _, t := range topics {
		if from[t], err = w.ends(t); err != nil {
			return err
		}
	}
	began := time.Now()
	for range cfg.n {
		f, t := names.pair()
		p.transfer(ctx, trng, f, t, 1+trng.Int64N(cfg.maxCents))
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	rep.PreloadSeconds = time.Since(began).Seconds()
	slog.Info("transfers preloaded", "n", cfg.n, "took", time.Since(began).Round(time.Millisecond))

	stopCPU, err := startCPUProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer func() {
		if e := stopCPU(); e != nil && err == nil {
			err = e
		}
	}()
	rep.LoadBefore = loadAverage()
	cpu0, start := cpuTime(), time.Now()
	procs := startProcessors(ctx, rc)
	first, _, err := w.waitOutcomes(ctx, from[string(topology.TransferRequests)], cfg.n, cfg.drainTimeout, procs.failed)
	var drained time.Time
	if err == nil {
		drained, err = w.waitDrained(ctx, cfg.drainTimeout, lagPoll, procs.failed)
	}
	elapsed, cpu := drained.Sub(start), cpuTime()-cpu0
	rep.LoadAfter = loadAverage()
	if e := stopCPU(); e != nil && err == nil {
		err = e
	}
	stopCPU = func() error { return nil }
	if stopErr := procs.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("timed phase: %w", err)
	}
	rep.ElapsedSeconds = elapsed.Seconds()
	rep.PerS = perSecond(int64(cfg.n), elapsed)
	if !first.IsZero() {
		rep.FirstCommitSeconds = first.Sub(start).Seconds()
	}
	rep.CPUSeconds = cpu.Seconds()
	rep.CPUMicrosPerTransfer = float64(cpu.Microseconds()) / float64(cfg.n)
	rep.CPUCores = cpu.Seconds() / elapsed.Seconds()
	slog.Info("processed", "n", cfg.n, "took", elapsed.Round(time.Millisecond), "per_s", int(rep.PerS))

	if err := rep.readBack(ctx, w, from, cfg.n); err != nil {
		return err
	}
	if cfg.jsonOut {
		return rep.writeJSON(out)
	}
	return rep.writeText(out)
}

// setUp signs every account up and deposits into each, and runs the
// processors until they are idle: the state the timed phase starts from.
func setUp(ctx context.Context, cfg config, rc run.Config, w *lagWatcher, p *preloader, rng *rand.Rand, names *accounts, rep *processingReport) error {
	began := time.Now()
	all := make([]string, 0, cfg.accounts+1)
	for i := range cfg.accounts {
		all = append(all, names.name(i))
	}
	if cfg.hotShare > 0 {
		all = append(all, names.merchant())
	}
	for _, name := range all {
		if err := p.signup(ctx, rng, name, rc.MaxOverdraft); err != nil {
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	procs := startProcessors(ctx, rc)
	// Signups first: a deposit credited before its account is open would
	// be refunded.
	_, err := w.waitDrained(ctx, cfg.drainTimeout, 100*time.Millisecond, procs.failed)
	if err != nil {
		procs.stop()
		return fmt.Errorf("set-up, signups: %w", err)
	}
	requests := string(topology.TransferRequests)
	before, err := w.ends(requests)
	if err != nil {
		procs.stop()
		return err
	}
	deposit := depositCents(cfg)
	for _, name := range all {
		p.transfer(ctx, rng, wallet.World, name, deposit)
	}
	if err := p.flush(ctx); err != nil {
		procs.stop()
		return err
	}
	_, _, err = w.waitOutcomes(ctx, before, len(all), cfg.drainTimeout, procs.failed)
	if err == nil {
		_, err = w.waitDrained(ctx, cfg.drainTimeout, 100*time.Millisecond, procs.failed)
	}
	if stopErr := procs.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("set-up, deposits: %w", err)
	}
	rep.SignedUp, rep.Deposit = len(all), wallet.Cents(deposit).String()
	rep.SetupSeconds = time.Since(began).Seconds()
	slog.Info("set up", "accounts", len(all), "deposit", rep.Deposit, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// depositCents is each account's deposit: twice what an account sends on
// average (n/accounts transfers of maxCents/2), and at least 1,000.00, so
// that with the overdraft limit nearly every transfer can complete.
func depositCents(cfg config) int64 {
	return max(100000, int64(cfg.n)*cfg.maxCents/int64(cfg.accounts))
}

// processors are the wallet's processor groups running in this process.
type processors struct {
	cancel context.CancelFunc
	failed chan error // receives the error if they stop by themselves
	done   chan struct{}
	err    error
}

func startProcessors(ctx context.Context, rc run.Config) *processors {
	ctx, cancel := context.WithCancel(ctx)
	p := &processors{cancel: cancel, failed: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = run.Processors(ctx, rc)
		if ctx.Err() == nil {
			if p.err == nil {
				p.err = errors.New("the processors returned")
			}
			p.failed <- p.err
		}
	}()
	return p
}

// stop stops the processors and waits for them, keeping their state.
func (p *processors) stop() error {
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-time.After(time.Minute):
		return errors.New("the processors did not stop within 1m")
	}
}

// dataDir returns dir, or a new temporary directory named by pattern
// (os.MkdirTemp) that cleanup removes: -data keeps a run's data to look at.
func dataDir(dir, pattern string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	return tmp, func() {
		if err := os.RemoveAll(tmp); err != nil {
			slog.Warn("remove data", "dir", tmp, "error", err)
		}
	}, nil
}

// readBack reads what the timed phase wrote: the outcomes in the transfer
// log, the dead letters, and the changelog records of paymentd's and the
// accountant's tables, with their sizes.
func (r *processingReport) readBack(ctx context.Context, w *lagWatcher, from map[string]offsets, n int) error {
	to := map[string]offsets{}
	for t := range from {
		var err error
		if to[t], err = w.ends(t); err != nil {
			return err
		}
	}
	r.N, r.Outcomes = n, map[string]int64{}
	err := scan(ctx, w.kc, string(topology.TransferRequests), from[string(topology.TransferRequests)], to[string(topology.TransferRequests)], func(rec *kgo.Record) {
		v, err := codecs.TransferLog{}.Decode(rec.Value)
		if err != nil {
			r.Outcomes["undecodable"]++
			return
		}
		if o, ok := v.(wallet.Outcome); ok {
			r.Outcomes[strings.TrimSpace(string(o.Status)+" "+o.Reason)]++
		}
	})
	if err != nil {
		return err
	}
	r.Completed = r.Outcomes[string(wallet.Completed)]
	for k, v := range r.Outcomes {
		if strings.HasPrefix(k, string(wallet.Rejected)) {
			r.Rejected += v
		}
	}
	count := func(topic string, n *int64) error {
		return scan(ctx, w.kc, topic, from[topic], to[topic], func(*kgo.Record) { *n++ })
	}
	if err := count(string(topology.DeadLetters), &r.DeadLetters); err != nil {
		return err
	}
	if err := count(string(topology.Instructions), &r.InstructionMessages); err != nil {
		return err
	}
	for _, t := range []string{string(topology.TransferTable), string(topology.AccountTable)} {
		c := changelog{Topic: t}
		err := scan(ctx, w.kc, t, from[t], to[t], func(rec *kgo.Record) {
			c.Records++
			c.Bytes += int64(len(rec.Key) + len(rec.Value))
		})
		if err != nil {
			return err
		}
		c.RecordsPerTransfer, c.BytesPerTransfer = float64(c.Records)/float64(n), float64(c.Bytes)/float64(n)
		r.Changelogs = append(r.Changelogs, c)
	}
	return nil
}
