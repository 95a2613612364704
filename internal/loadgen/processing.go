package loadgen

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
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
// start, and the clock runs from their start until no group lags. The
// processors are the wallet's, or with -streams the same decisions made
// by Kafka Streams (scripts/streams), on the same preload and checked the
// same way.
//
// Setup, not timed: every account is signed up with the largest overdraft
// limit and given one deposit, and the processors run until they are
// idle, then stop. Timed: -n transfer requests are preloaded (with
// re-posts, overdraft attempts, transfers to unknown accounts and
// withdrawals: see workload), the processors start again on the same
// state, and the clock stops once every transfer's outcome is in
// wallet.transfer_request and no (group, input) pair lags. Then every
// outcome, every transfer's final status and every balance are checked
// against the model, and a run that does not agree fails.
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
	// No probes and metrics over HTTP: nothing reads them here, and the
	// port may be another wallet's.
	rc.HTTP = ""
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
	if cfg.brokerPID != 0 {
		if _, err := procCPU(cfg.brokerPID); err != nil {
			return fmt.Errorf("-broker-pid: %w", err)
		}
	}
	if err := rc.Kafka.Ping(); err != nil {
		return err
	}
	if err := rc.Kafka.EnsureTopics(); err != nil {
		return err
	}
	var sys system = walletSystem{rc: rc}
	if cfg.streams != "" {
		if sys, err = newStreamsSystem(cfg, rc.Kafka, dir); err != nil {
			return err
		}
	}
	defer sys.close()
	w, err := newLagWatcher(rc.Kafka, sys.lags)
	if err != nil {
		return err
	}
	defer w.close()
	p, err := newPreloader(ctx, rc.Kafka.Brokers)
	if err != nil {
		return err
	}
	defer p.close()

	wl, err := newWorkload(cfg, seed, rc.MaxOverdraft, rc.MaxAmount)
	if err != nil {
		return err
	}
	rep := &processingReport{Scenario: newScenario(cfg), System: sys.name(), Broker: brokerName, Seed: seed,
		Revision: revision(), NumCPU: runtime.NumCPU(), Mix: wl.mix()}
	slog.Info("processing-only run", "system", sys.name(), "n", cfg.n, "accounts", cfg.accounts, "skew", cfg.skew, "hot_share", cfg.hotShare,
		"partitions", cfg.partitions, "prefix", cfg.prefix, "broker", brokerName, "data", dir)

	if err := setUp(ctx, cfg, sys, w, p, wl, rep); err != nil {
		return err
	}

	// The timed phase's inputs, and where every topic stood before them.
	tb := sys.tables()
	topics := []string{string(topology.TransferRequests), string(topology.Instructions), tb.transfers, tb.accounts,
		string(topology.DeadLetters)}
	from := map[string]offsets{}
	for _, t := range topics {
		if from[t], err = w.ends(t); err != nil {
			return err
		}
	}
	began := time.Now()
	for _, r := range wl.requests {
		if err := p.transfer(ctx, r); err != nil {
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	rep.PreloadSeconds = time.Since(began).Seconds()
	slog.Info("transfers preloaded", "n", cfg.n, "distinct", wl.distinct, "took", time.Since(began).Round(time.Millisecond))

	stopProfiling, err := startProfiling(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if e := stopProfiling(); e != nil && err == nil {
			err = e
		}
	}()
	rep.LoadBefore = loadAverage()
	broker0, err := brokerCPU(cfg.brokerPID)
	if err != nil {
		return err
	}
	own0, start := cpuTime(), time.Now()
	procs, err := sys.start(ctx)
	if err != nil {
		return fmt.Errorf("timed phase: %w", err)
	}
	first, _, err := w.waitOutcomes(ctx, from[string(topology.TransferRequests)], wl.distinct, cfg.drainTimeout, procs.failures())
	var drained time.Time
	if err == nil {
		drained, err = w.waitDrained(ctx, cfg.drainTimeout, lagPoll, procs.failures())
	}
	elapsed, own := drained.Sub(start), cpuTime()-own0
	cpu, rss, usageErr := procs.usage()
	broker1, brokerErr := brokerCPU(cfg.brokerPID)
	rep.LoadAfter = loadAverage()
	if e := stopProfiling(); e != nil && err == nil {
		err = e
	}
	stopProfiling = func() error { return nil }
	if e := writeHeapProfile(cfg.memProfile); e != nil && err == nil {
		err = e
	}
	if stopErr := procs.stop(); err == nil {
		err = stopErr
	}
	if err == nil {
		err = cmp.Or(usageErr, brokerErr)
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
	rep.PeakRSSMiB = float64(rss) / (1 << 20)
	if cfg.streams != "" {
		rep.HarnessCPUSeconds = own.Seconds()
	}
	if cfg.brokerPID != 0 {
		b := broker1 - broker0
		rep.BrokerPID, rep.BrokerCPUSeconds = cfg.brokerPID, b.Seconds()
		rep.BrokerCPUMicrosPerTransfer = float64(b.Microseconds()) / float64(cfg.n)
	}
	slog.Info("processed", "n", cfg.n, "took", elapsed.Round(time.Millisecond), "per_s", int(rep.PerS))

	got, err := rep.readBack(ctx, w, tb, from, cfg.n)
	if err != nil {
		return err
	}
	m, err := wl.expect()
	if err != nil {
		return err
	}
	if err := rep.check(ctx, w, tb, m, got); err != nil {
		return err
	}
	if cfg.jsonOut {
		err = rep.writeJSON(out)
	} else {
		err = rep.writeText(out)
	}
	if err == nil && rep.Check.Violations > 0 {
		err = fmt.Errorf("%d disagreements with the model, the first: %s", rep.Check.Violations, strings.Join(rep.Check.Examples, "; "))
	}
	return err
}

// brokerCPU returns the CPU time the broker's process has used, or 0
// when its pid is not known (0).
func brokerCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	return procCPU(pid)
}

// setUp signs every account up and deposits into each, and runs the
// processors until they are idle: the state the timed phase starts from.
func setUp(ctx context.Context, cfg config, sys system, w *lagWatcher, p *preloader, wl *workload, rep *processingReport) error {
	began := time.Now()
	for i, name := range wl.names {
		if err := p.signup(ctx, wl.claims[i], name, wl.limit); err != nil {
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	procs, err := sys.start(ctx)
	if err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	// Signups first: a deposit credited before its account is open would
	// be refunded.
	_, err = w.waitDrained(ctx, cfg.drainTimeout, 100*time.Millisecond, procs.failures())
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
	for _, d := range wl.deposits {
		if err := p.transfer(ctx, d); err != nil {
			procs.stop()
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		procs.stop()
		return err
	}
	_, _, err = w.waitOutcomes(ctx, before, len(wl.deposits), cfg.drainTimeout, procs.failures())
	if err == nil {
		_, err = w.waitDrained(ctx, cfg.drainTimeout, 100*time.Millisecond, procs.failures())
	}
	if stopErr := procs.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("set-up, deposits: %w", err)
	}
	rep.SignedUp, rep.Deposit = len(wl.names), wallet.Cents(wl.baseCents).String()
	for _, d := range wl.deposits {
		if d.cents > wl.baseCents {
			rep.LargerDeposits++
		}
	}
	rep.SetupSeconds = time.Since(began).Seconds()
	slog.Info("set up", "accounts", len(wl.names), "deposit", rep.Deposit, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// depositCents is each account's deposit, unless it sends more (workload):
// twice what an account sends on average (n/accounts transfers of
// maxCents/2), and at least 1,000.00.
func depositCents(cfg config) int64 {
	return max(100000, int64(cfg.n)*cfg.maxCents/int64(cfg.accounts))
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
// log, which it returns by request ID, the dead letters, and the
// changelog records of the system's transfer and account tables, with
// their sizes.
func (r *processingReport) readBack(ctx context.Context, w *lagWatcher, tb tables, from map[string]offsets, n int) (map[string][]string, error) {
	to := map[string]offsets{}
	for t := range from {
		var err error
		if to[t], err = w.ends(t); err != nil {
			return nil, err
		}
	}
	r.N, r.Outcomes = n, map[string]int64{}
	got := map[string][]string{}
	err := scan(ctx, w.kc, string(topology.TransferRequests), from[string(topology.TransferRequests)], to[string(topology.TransferRequests)], func(rec *kgo.Record) {
		v, err := codecs.TransferLog{}.Decode(rec.Value)
		if err != nil {
			r.Outcomes["undecodable"]++
			return
		}
		if o, ok := v.(wallet.Outcome); ok {
			text := outcomeText(string(o.Status), o.Reason)
			r.Outcomes[text]++
			got[o.RequestID.String()] = append(got[o.RequestID.String()], text)
		}
	})
	if err != nil {
		return nil, err
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
		return nil, err
	}
	if err := count(string(topology.Instructions), &r.InstructionMessages); err != nil {
		return nil, err
	}
	for _, t := range []string{tb.transfers, tb.accounts} {
		c := changelog{Topic: t, Offsets: to[t].sum() - from[t].sum()}
		err := scan(ctx, w.kc, t, from[t], to[t], func(rec *kgo.Record) {
			c.Records++
			c.Bytes += int64(len(rec.Key) + len(rec.Value))
		})
		if err != nil {
			return nil, err
		}
		c.RecordsPerTransfer, c.BytesPerTransfer = float64(c.Records)/float64(n), float64(c.Bytes)/float64(n)
		r.Changelogs = append(r.Changelogs, c)
	}
	return got, nil
}
