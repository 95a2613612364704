package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/run"
)

// runLoadgen performs one load run and writes its report to out.
func runLoadgen(ctx context.Context, cfg config, out io.Writer) (err error) {
	seed := harness.Seed(cfg.seed)
	kafka := run.Defaults().Kafka
	kafka.Brokers, kafka.Partitions = cfg.brokers, cfg.partitions
	if cfg.embedded {
		e, err := startEmbedded(ctx, cfg)
		if err != nil {
			return err
		}
		defer e.stop()
		cfg.api, cfg.view, kafka.Brokers, cfg.operator = e.url, e.url, e.brokers, e.operator
	}
	cl := newClient(cfg)
	defer cl.HTTPClient.CloseIdleConnections()
	if err := ping(ctx, cl, api.WriteSide); err != nil {
		return err
	}
	if cfg.view != cfg.api {
		if err := ping(ctx, cl, api.ReadSide); err != nil {
			return err
		}
	}

	// Only accounts that are signed up can be read: sign up every account
	// the load will use before it, outside its figures.
	var pl *plan
	if !cfg.probeOnly {
		pl = newPlan(cfg, seed)
	}
	names := signupNames(cfg, pl)
	slog.Info("signing up", "accounts", len(names), "concurrency", cfg.concurrency)
	su, err := signUp(ctx, cfg, cl, names, seed)
	if err != nil {
		return err
	}
	slog.Info("signed up", "accounts", su.accounts, "took", su.took.Round(time.Millisecond), "posts", su.posts, "202s", su.pending)
	// Transfers go debit first: fund every sender with what its load
	// transfers can take, outside the figures.
	fr, err := fund(ctx, cfg, cl, fundingOf(cfg, pl))
	if err != nil {
		return err
	}
	if pl != nil {
		pl.deposits, pl.overdraftCents = fr.ledger, fr.cents+1
	}

	stopProfiling, err := startProfiling(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if e := stopProfiling(); e != nil && err == nil {
			err = e
		}
	}()
	slog.Info("loadgen starting", "mode", newScenario(cfg).Mode, "n", cfg.n, "concurrency", cfg.concurrency,
		"rate", rateText(cfg.rate), "accounts", cfg.accounts, "skew", cfg.skew, "hot_share", cfg.hotShare,
		"repost", cfg.repost, "prefix", cfg.prefix, "api", cfg.api, "view", cfg.view)

	rep := &report{Scenario: newScenario(cfg), Revision: revision(), NumCPU: runtime.NumCPU(), LoadBefore: loadAverage()}
	rep.Signups, rep.SignupSeconds, rep.SignupPosts, rep.SignupPending = su.accounts, su.took.Seconds(), su.posts, su.pending
	rep.Deposits, rep.DepositSeconds, rep.Deposited = fr.deposits, fr.took.Seconds(), wallet.Cents(fr.cents).String()
	prog := newProgress(cfg.quiet, cfg.n)
	prog.start()
	pr := newProber(cfg, cl, seed, prog)
	cpu0 := cpuTime()
	if cfg.probeOnly {
		err = probeRun(ctx, cfg, pr, prog, rep)
	} else {
		err = loadRun(ctx, cfg, cl, seed, pl, pr, prog, rep)
	}
	prog.finish()
	if err != nil {
		return err
	}
	rep.CPUSeconds = (cpuTime() - cpu0).Seconds()
	if rep.AppliedSeconds > 0 {
		rep.CPUCores = rep.CPUSeconds / rep.AppliedSeconds
	}
	rep.LoadAfter = loadAverage()
	if err := stopProfiling(); err != nil {
		return err
	}
	stopProfiling = func() error { return nil }
	if err := writeHeapProfile(cfg.memProfile); err != nil {
		return err
	}

	if cfg.bound {
		// A message the size of a transfer's: the longest names and amount.
		rng := rand.New(rand.NewPCG(seed, 1<<32))
		names := newAccounts(cfg, rng)
		value := newTransfer(rng, names.name(cfg.accounts-1), names.name(cfg.accounts-2), cfg.maxCents).body
		slog.Info("measuring the Kafka bound", "brokers", kafka.Brokers, "messages", cfg.boundN, "bytes", len(value))
		// Without a bound the rest of the report still stands.
		if b, err := measureBound(ctx, kafka, cfg.boundN, value); err != nil {
			slog.Error("the Kafka bound was not measured", "error", err)
		} else {
			rep.Bound = &b
			if b.BoundPerS > 0 {
				rep.BoundRatio = rep.AppliedPerS / b.BoundPerS
			}
		}
	}
	write := rep.writeText
	if cfg.jsonOut {
		write = rep.writeJSON
	}
	if err := write(out); err != nil {
		return err
	}
	if n := len(rep.OutcomeViolations); n > 0 {
		return fmt.Errorf("%d transfers did not end as they must, e.g. %s", n, rep.OutcomeViolations[0])
	}
	return nil
}

// loadRun sends the load with probes alongside, then waits until the view
// shows every accepted transfer.
func loadRun(ctx context.Context, cfg config, cl *api.Client, seed uint64, pl *plan, pr *prober, prog *progress, rep *report) error {
	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	kick, stopProbes := make(chan struct{}, 1), make(chan struct{})
	var probes sync.WaitGroup
	probes.Go(func() { pr.run(probeCtx, kick, stopProbes) })
	res := sendLoad(ctx, cfg, cl, seed, pl, prog, kick)
	close(stopProbes)
	// From the last answer, everything must be visible by the deadline:
	// the probe in flight, the last probe, every balance.
	deadline := res.end.Add(cfg.drainTimeout)
	timer := time.AfterFunc(cfg.drainTimeout, cancelProbes)
	defer timer.Stop()
	probes.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	prog.finish()
	sendTook := res.end.Sub(res.start)
	slog.Info("sent", "transfers", cfg.n, "accepted", res.accepted, "took", sendTook.Round(time.Millisecond),
		"probe_in_flight_done_after_last_answer", time.Since(res.end).Round(time.Millisecond))

	// One more probe after the load: once the view shows it the pipeline
	// has nearly drained, so the balance checks that follow do not compete
	// with it for long.
	if d, err := pr.probe(probeCtx, false); err == nil {
		slog.Info("last probe visible", "after", d.Round(time.Millisecond), "since_last_answer", time.Since(res.end).Round(time.Millisecond))
		took := time.Since(res.start)
		rep.LastProbeSeconds, rep.LastProbePerS = took.Seconds(), perSecond(res.accepted, took)
	} else {
		slog.Warn("last probe", "error", err)
	}

	// The funding deposits count; the probes' sender is the prober's
	// business, and World only this run's when it has the wallet to itself.
	res.ledger.Merge(&pl.deposits)
	skip := maps.Clone(res.uncertain)
	skip[pr.from] = true
	if !cfg.embedded {
		skip[wallet.World] = true
	}
	want := res.ledger.Expected(skip)
	if s := res.ledger.Sum(); s != 0 {
		return fmt.Errorf("loadgen bug: expected balances sum to %s, not zero", wallet.Cents(s).String())
	}
	slog.Info("verifying balances", "accounts", len(want), "left_out", len(res.uncertain))
	dr, err := drain(ctx, cl, want, cfg.drainConc, deadline, prog)
	if err != nil {
		return err
	}

	t := res.tally
	t.merge(pr.tally)
	rep.Posts, rep.Created, rep.Errors = t.posts, t.created, t.errorCounts()
	rep.Accepted, rep.Reposts, rep.Rejected, rep.Lost = res.accepted, res.reposts, res.rejected, res.lost
	rep.Special = res.special
	rep.Probes = int(pr.expected / probeCents)
	rep.Moved = wallet.Cents(res.moved).String()
	rep.Uncertain, rep.Checked = len(res.uncertain), dr.accounts
	rep.SendSeconds = sendTook.Seconds()
	rep.AcceptedPerS = perSecond(t.created, sendTook)
	rep.VerifyGets = dr.gets
	rep.PostLatency = summarise(t.latencies)
	rep.ApplyLatency, rep.ProbesUnfinished = summarise(pr.samples), pr.unfinished
	rep.Drained = !dr.done.IsZero()
	if !rep.Drained {
		for _, m := range dr.pending {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s want %s got %s", m.account, wallet.Cents(m.want).String(), m.got))
		}
		slog.Error("the view did not show every accepted transfer in time", "wrong", dr.left, "timeout", cfg.drainTimeout)
		return nil
	}
	applied := dr.done.Sub(res.start)
	rep.AppliedSeconds = applied.Seconds()
	rep.AppliedPerS = perSecond(res.accepted, applied)
	rep.VerifySeconds = dr.done.Sub(res.end).Seconds()

	// The balances are right, so every transfer between two accounts and
	// every withdrawal completed (each was affordable); read the outcomes of
	// the special shares and of a sample of the rest.
	slog.Info("reading outcomes", "transfers", len(res.checks))
	or, err := readOutcomes(ctx, cl, res.checks, cfg.drainConc, time.Now().Add(cfg.drainTimeout))
	if err != nil {
		return err
	}
	rep.Outcomes, rep.OutcomesRead, rep.OutcomeGets, rep.OutcomeViolations = or.counts, or.read, or.gets, or.violations
	if n := len(or.violations); n > 0 {
		slog.Error("outcomes not as they must be", "violations", n, "first", or.violations[0])
	}
	return nil
}

// fundingOf returns the deposits a run makes before its load: each
// account of the plan what it will send, and the probes' sender what
// every probe will take.
func fundingOf(cfg config, pl *plan) map[string]int64 {
	a := &accounts{prefix: cfg.prefix}
	amounts := map[string]int64{}
	if pl != nil {
		amounts = pl.funding(a, cfg.maxCents)
	}
	amounts[a.probeFrom()] = probeCents * int64(cfg.n+16)
	return amounts
}

// probeRun sends cfg.n probes one after the other and measures every one,
// each given -drain-timeout to show.
func probeRun(ctx context.Context, cfg config, pr *prober, prog *progress, rep *report) error {
	start := time.Now()
	for range cfg.n {
		pctx, cancel := context.WithTimeout(ctx, cfg.drainTimeout)
		_, err := pr.probe(pctx, true)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pr.broken != nil {
			slog.Error("probes stopped", "error", err)
			break
		}
		prog.done.Add(1)
	}
	took := time.Since(start)
	t := pr.tally
	accepted := pr.expected / probeCents
	rep.Posts, rep.Created, rep.Errors = t.posts, t.created, t.errorCounts()
	rep.Accepted, rep.Probes = accepted, int(accepted)
	rep.Moved = wallet.Cents(pr.expected).String()
	rep.Checked, rep.Drained = 1, pr.unfinished == 0
	rep.SendSeconds, rep.AppliedSeconds = took.Seconds(), took.Seconds()
	rep.AcceptedPerS = perSecond(t.created, took)
	rep.AppliedPerS = perSecond(accepted, took)
	rep.PostLatency = summarise(t.latencies)
	rep.ApplyLatency, rep.ProbesUnfinished = summarise(pr.samples), pr.unfinished
	return nil
}
