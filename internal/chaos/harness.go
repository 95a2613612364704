package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/audit"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	walletrun "github.com/wallet/wallet/run"
)

// errSetup is a failure to set the run up, as opposed to a check that
// failed.
var errSetup = errors.New("setup")

// runner is one chaos run.
type runner struct {
	c       config
	dir     string
	cluster *cluster
	client  *client
	journal *journal
	prober  *prober
	signups *signups
}

// run sets up the work directory and binaries, runs the wallet and the
// chaos, and returns the summary. An error wrapping errSetup means no
// verdict could be reached.
func run(ctx context.Context, c config, dir string) (*summary, error) {
	start := time.Now()
	s := &summary{Seed: c.Seed, Dir: dir, Sum: "n/a"}
	defer func() { s.elapsed = time.Since(start) }()
	var h *runner
	defer func() {
		if h != nil {
			s.Exits = h.cluster.exits()
			s.Posts, s.Unavailable, s.ConnErrors = h.client.counts.Posts.Load(), h.client.counts.Unavailable.Load(), h.client.counts.ConnErrors.Load()
			s.Errors = h.client.errorCounts()
			if len(s.Errors) > 0 {
				s.fail("unexpected answers to valid transfers: %v", s.Errors)
			}
		}
	}()

	bin := c.Bin
	if bin == "" {
		bin = filepath.Join(dir, "bin")
		slog.Info("building binaries", "dir", bin)
		rev, err := buildBinaries(ctx, bin)
		if err != nil {
			return s, fmt.Errorf("%w: build: %w", errSetup, err)
		}
		s.Revision = rev
	}
	if err := checkBinaries(bin); err != nil {
		return s, fmt.Errorf("%w: %w", errSetup, err)
	}
	cl, err := newCluster(c, dir, bin)
	if err != nil {
		return s, fmt.Errorf("%w: %w", errSetup, err)
	}
	client, err := newClient(cl.emitterURL, cl.viewURL, cl.brokerAddr, cl.operator, c.Concurrency, c.TransferWait)
	if err != nil {
		return s, fmt.Errorf("%w: %w", errSetup, err)
	}
	h = &runner{
		c:       c,
		dir:     dir,
		cluster: cl,
		client:  client,
		journal: newJournal(rand.New(rand.NewPCG(c.Seed, 0)), c.N, c.Accounts),
	}
	defer h.client.close()
	h.prober = newProber(h.client, h.journal, c)
	// The probes' accounts included; World and the ghosts left out.
	h.signups = newSignups(rand.New(rand.NewPCG(c.Seed, 5)), h.journal.signupNames(), h.journal.limit, c.Claimants)

	// Every child stops when run returns, whatever happened.
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopCluster()
		cl.wait()
	}()
	slog.Info("starting", "broker", cl.brokerAddr, "emitter", cl.emitterURL, "view", cl.viewURL,
		"processors", c.Processors, "partitions", c.Partitions, "logs", cl.logs)
	if err := cl.start(clusterCtx); err != nil {
		return s, fmt.Errorf("%w: %w", errSetup, err)
	}
	if err := cl.ready(ctx, 2*time.Minute); err != nil {
		return s, fmt.Errorf("%w: %w", errSetup, err)
	}
	h.signUp(ctx, s)
	if ctx.Err() != nil {
		s.fail("interrupted")
		return s, nil
	}
	if err := cl.ready(ctx, 2*time.Minute); err != nil {
		s.fail("processes not back up after the signups: %v", err)
		return s, nil
	}
	if err := h.fund(ctx, s); err != nil {
		return s, fmt.Errorf("%w: funding: %w", errSetup, err)
	}
	// End to end: a transfer through every partition is applied.
	if took, err := h.prober.probe(ctx, time.Now(), 3*time.Minute); err != nil {
		return s, fmt.Errorf("%w: first transfers through every partition: %w (processors not ready: %v)", errSetup, err, cl.processorsNotReady(ctx))
	} else {
		slog.Info("pipeline ready", "first transfers applied after", slicesMax(took).Round(time.Millisecond))
	}

	h.sendWithChaos(ctx, s)
	if ctx.Err() != nil {
		s.fail("interrupted")
		return s, nil
	}
	if err := cl.ready(ctx, 2*time.Minute); err != nil {
		s.fail("processes not back up after the chaos: %v", err)
		return s, nil
	}
	slog.Info("sends done; waiting for the outcomes and the balances", "timeout", c.DrainTimeout)
	drainStart := time.Now()
	h.outcomes(ctx, s, c.DrainTimeout)
	r := h.check(ctx, s, c.DrainTimeout)
	s.drain = time.Since(drainStart)
	h.checkSignups(ctx, s)
	if !r.drained || ctx.Err() != nil {
		return s, nil
	}
	h.measureFailovers(ctx, s)
	if len(s.failover) > 0 {
		slog.Info("checking the outcomes and balances again after the failover measurements")
		h.outcomes(ctx, s, time.Minute)
		h.check(ctx, s, time.Minute)
	}
	h.audit(ctx, s)
	h.processorsReady(ctx, s, 2*time.Minute)
	return s, nil
}

// processorsReady checks that every processor's /readyz answers 200 within
// timeout once the run has drained: every group processing, no partition
// stalled, the disk above its floor.
func (h *runner) processorsReady(ctx context.Context, s *summary, timeout time.Duration) {
	err := harness.Poll(ctx, timeout, time.Second, func(ctx context.Context) error {
		if notReady := h.cluster.processorsNotReady(ctx); len(notReady) > 0 {
			return errors.New(strings.Join(notReady, "; "))
		}
		return nil
	})
	if err != nil {
		s.fail("processors not ready after the run: %v", err)
	}
}

// fund deposits into every account signed up, 0.00..200.00 each (the
// probes' senders 1000.00), and waits until the view shows every deposit:
// the transfers that follow find the money there.
func (h *runner) fund(ctx context.Context, s *summary) error {
	start := time.Now()
	deposits := h.journal.fund(rand.New(rand.NewPCG(h.c.Seed, 7)), h.prober.from)
	slog.Info("funding", "deposits", len(deposits))
	harness.ForEach(ctx, len(deposits), h.c.Concurrency, func(i int) {
		t := deposits[i]
		t.sent = true
		t.outcome = h.client.send(ctx, h.journal.body(t), deposit)
	})
	var cents int64
	for _, t := range deposits {
		if t.outcome != accepted {
			return fmt.Errorf("deposit %s was not accepted (%v)", t.id, t.outcome)
		}
		cents += t.cents
		h.prober.funded(h.journal.body(t))
	}
	names, _ := h.journal.snapshot()
	want := make([]int64, len(names))
	for _, t := range deposits {
		want[t.from] -= t.cents
		want[t.to] += t.cents
	}
	err := harness.Poll(ctx, 3*time.Minute, 200*time.Millisecond, func(ctx context.Context) error {
		got, err := readBalances(ctx, h.client, names, h.journal.isGhost)
		if err == nil && !slices.Equal(got, want) {
			return errors.New("balances not as deposited yet")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("the view did not show the deposits: %w (processors not ready: %v)", err, h.cluster.processorsNotReady(ctx))
	}
	s.Funding = len(deposits)
	s.FundingAmount = wallet.Cents(cents).String()
	s.fundTime = time.Since(start)
	slog.Info("funded", "deposits", len(deposits), "amount", s.FundingAmount, "took", s.fundTime.Round(time.Millisecond))
	return nil
}

// outcomes reads every transfer's outcome through GET
// /api/v1/transfers/{id} until each accepted one is final, checks them,
// and records the verdict in s.
func (h *runner) outcomes(ctx context.Context, s *summary, timeout time.Duration) {
	names, transfers := h.journal.snapshot()
	o := readOutcomes(ctx, h.client, transfers, timeout)
	o.check(names, transfers, h.journal.isGhost)
	s.Conflicts409, s.Conflicts201 = o.checkConflicts(h.journal.conflictsSnapshot())
	s.Outcomes, s.NotFinal = o.counts, len(o.lost)
	s.UnconfCompleted, s.UnconfRejected = o.unconfirmed[0], o.unconfirmed[1]
	s.OutcomeGets += o.gets
	s.outcomeTime += o.took
	slog.Info("outcomes read", "outcomes", ledger.OutcomesText(o.counts), "not final", len(o.lost), "GETs", o.gets,
		"passes", o.passes, "took", o.took.Round(time.Millisecond))
	if len(o.lost) > 0 {
		var ids []string
		for _, t := range o.lost[:min(len(o.lost), 5)] {
			ids = append(ids, fmt.Sprintf("%s (%s, found %v, %s)", t.id, t.kind, t.found, t.status))
		}
		s.fail("%d accepted transfers not final after %s (lost), e.g. %s (processors not ready: %v)", len(o.lost), timeout, strings.Join(ids, ", "), h.cluster.processorsNotReady(ctx))
	}
	path := filepath.Join(h.dir, "outcome-violations.txt")
	s.OutcomeViolations = len(o.violations)
	reportViolations(o.violations, path)
	if n := len(o.violations); n > 0 {
		s.fail("outcomes: %d violations, e.g. %s (all in %s)", n, o.violations[0], path)
	}
}

// audit checks the books with the auditor, against the run's Kafka, and
// records its verdict in s; the full report goes to audit.txt.
func (h *runner) audit(ctx context.Context, s *summary) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	kc := kafka.Config{Brokers: kafka.ParseBrokers(h.cluster.brokerAddr), Partitions: h.c.Partitions}
	// Secured as the processes the harness starts (kafkaOpts).
	sec, err := walletrun.SecurityFromEnv()
	if err != nil {
		s.fail("audit: Kafka security from the environment: %v", err)
		return
	}
	kc.Security = sec
	rep, err := audit.Run(ctx, kc, h.c.DrainTimeout)
	if err != nil {
		s.Audit = "error: " + err.Error()
		s.fail("audit: %v", err)
		return
	}
	var b strings.Builder
	rep.Print(&b)
	path := filepath.Join(h.dir, "audit.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		slog.Error("write audit report", "path", path, "error", err)
	}
	verdict := "OK"
	if !rep.OK() {
		verdict = "FAIL"
		for i, v := range rep.Violations {
			if i == 20 {
				break
			}
			slog.Error("audit violation", "violation", v)
		}
		s.fail("audit: %d violations, drained %v, sum %s, pending %d (report in %s)", len(rep.Violations), rep.Drained, rep.Sum, rep.Transfers[string(wallet.Pending)], path)
	}
	s.Audit = fmt.Sprintf("%s (%d accounts, %d usernames, transfers: %s; %d account versions in the changelog; sum %s; %d dead letters; %.1fs)",
		verdict, rep.Accounts, rep.Owners, ledger.OutcomesText(rep.Transfers), rep.ChangelogRecords, rep.Sum, rep.DeadLetters, time.Since(start).Seconds())
	s.AuditViolations = rep.Violations[:min(len(rep.Violations), 20)]
}

// sendWithChaos sends the transfers while the chaos runs, then stops it.
func (h *runner) sendWithChaos(ctx context.Context, s *summary) {
	var done atomic.Int64
	chaosCtx, stopChaos := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var cs chaosStats
	wg.Go(func() { cs = runChaos(chaosCtx, h.c, h.cluster, &done, h.c.N) })
	wg.Go(func() { h.progress(chaosCtx, &done) })
	slog.Info("sending", "transfers", h.c.N, "concurrency", h.c.Concurrency, "accounts", h.c.Accounts)
	ls := runLoad(ctx, h.c, h.client, h.journal, &done)
	stopChaos()
	wg.Wait()
	s.Sent, s.Accepted, s.Unconfirmed, s.Rejected, s.Reposts = ls.sent, ls.accepted, ls.unconfirmed, ls.rejected, ls.reposts
	s.Conflicts = ls.conflicts
	s.ByKind = map[string]int{}
	for k, n := range ls.byKind {
		s.ByKind[kind(k).String()] = n
	}
	s.ProcessorKills += cs.processorKills
	s.ProcessorPauses = cs.processorPauses
	s.BrokerRestarts = cs.brokerKills
	s.sendTime = ls.elapsed
	slog.Info("sends done", "took", ls.elapsed.Round(time.Millisecond), "accepted", ls.accepted,
		"unconfirmed", ls.unconfirmed, "processor kills", cs.processorKills, "pauses", cs.processorPauses, "broker kills", cs.brokerKills)
}

// signUp claims every account name with c.Claimants concurrent claims
// while processors are killed: one as the claims start, and one more when
// each further 1/signupKills of the names are decided and every processor
// runs again. The kills are paced by the decisions, not the clock: a claim
// needs the signup group to decide it within the emitter's decision
// timeout, and a group rebalancing every -kill-every (4 s) decides nothing
// until the kills stop. Killing every processor at once is left out too:
// the group then takes about 45 s to form again (generations with members
// that died while joining). The broker is not killed.
func (h *runner) signUp(ctx context.Context, s *summary) {
	start := time.Now()
	c := h.c
	ss := h.signups
	kills := 0
	var wg sync.WaitGroup
	chaosCtx, stopChaos := context.WithCancel(ctx)
	if c.KillEvery > 0 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(c.Seed, 6))
			poll := time.NewTicker(5 * time.Millisecond)
			defer poll.Stop()
			for k := 0; k < signupKills; {
				if int(ss.decided.Load()) >= len(ss.names)*k/signupKills && allRunning(h.cluster.processors) {
					if p := pickRunning(rng, h.cluster.processors); p != nil {
						if ok, err := p.kill(false); err != nil {
							slog.Error("chaos", "error", err)
						} else if ok {
							kills++
							slog.Info("kill -9", "process", p.name, "phase", "signups", "names decided", ss.decided.Load())
						}
					}
					k++
				}
				select {
				case <-chaosCtx.Done():
					return
				case <-poll.C:
				}
			}
		})
	}
	slog.Info("signing up", "names", len(ss.names), "claimants", c.Claimants, "concurrency", c.Concurrency)
	ss.claimAll(ctx, h.client, c.Concurrency, c.TransferWait)
	stopChaos()
	wg.Wait()
	ss.issueMissingKeys(ctx, h.client, c.TransferWait)
	s.ProcessorKills += kills
	s.Signups = &signupSummary{Kills: kills, Seconds: time.Since(start).Seconds()}
	s.Signups.fill(ss)
	slog.Info("signups done", "took", time.Since(start).Round(time.Millisecond), "processor kills", kills,
		"posts", ss.counts.Posts.Load(), "202s", ss.counts.Pending.Load())
}

// allRunning reports whether every process of ps runs.
func allRunning(ps []*process) bool {
	for _, p := range ps {
		if !p.running() {
			return false
		}
	}
	return true
}

// checkSignups posts every claim once more, reads every account's display
// name from the view, and records the verdict on the signups in s.
func (h *runner) checkSignups(ctx context.Context, s *summary) {
	if ctx.Err() != nil || s.Signups == nil {
		return
	}
	// Answers are final: a claim answered 201 (409) during the chaos is
	// answered 201 (409) again now, by an emitter restarted since.
	h.signups.claimAll(ctx, h.client, h.c.Concurrency, h.c.TransferWait)
	if err := h.signups.readShown(ctx, h.client, h.c.Concurrency); err != nil {
		s.fail("account names not readable from the view: %v", err)
	}
	ss := s.Signups
	ss.signupResult = checkSignups(h.signups.names)
	ss.checked = true
	ss.fill(h.signups)
	path := filepath.Join(h.dir, "signup-violations.txt")
	reportViolations(ss.Violations, path)
	if n := len(ss.Violations); n > 0 {
		s.fail("signups: %d violations, e.g. %s (all in %s)", n, ss.Violations[0], path)
	}
}

// progress logs the sends every ten seconds until ctx is done.
func (h *runner) progress(ctx context.Context, done *atomic.Int64) {
	harness.Every(ctx, 10*time.Second, func() {
		slog.Info("progress", "sent", done.Load(), "of", h.c.N, "posts", h.client.counts.Posts.Load(),
			"5xx", h.client.counts.Unavailable.Load(), "connection errors", h.client.counts.ConnErrors.Load(), "exits", h.cluster.exits())
	})
}

// check waits for the balances and records the verdict in s.
func (h *runner) check(ctx context.Context, s *summary, timeout time.Duration) checkResult {
	names, transfers := h.journal.snapshot()
	watchCtx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { h.watchLag(watchCtx) })
	r := drain(ctx, h.client, names, transfers, timeout, h.idle, h.journal.isGhost)
	stopWatch()
	wg.Wait()
	var behind string
	if !r.drained && len(r.wrong) > 0 && ctx.Err() == nil {
		var lag int64
		behind, lag = h.lagVerdict(ctx)
		if lag > 0 {
			// Instructions not consumed yet explain any difference: calling
			// one lost or doubled would be a guess.
			r.lost, r.doubled = 0, 0
			for i := range r.wrong {
				r.wrong[i].Verdict, r.wrong[i].RequestID = "behind", ""
			}
		}
	}
	s.Lost, s.Doubled, s.AccountsWrong = s.NotFinal+r.lost, r.doubled, len(r.wrong)
	s.Sum = wallet.Cents(r.sum).String()
	s.UnconfApplied = s.UnconfCompleted + r.applied
	s.Wrong = r.wrong
	if n, err := h.client.staleRecords(ctx); err != nil {
		slog.Warn("stale table records not readable from the view", "error", err)
	} else {
		s.StaleRecords = n
	}
	if s.StaleRecords > 0 {
		s.fail("the view read %d old account versions committed after newer ones: a zombie's writes got through its fence", s.StaleRecords)
	}
	reportWrong(r.wrong, filepath.Join(h.dir, "wrong-accounts.txt"))
	switch {
	case ctx.Err() != nil:
		s.fail("interrupted")
	case r.unreadable != nil:
		s.fail("balances not readable from the view after %s: %v", timeout, r.unreadable)
	case r.busy != nil:
		s.fail("balances as expected, but after %s the processors still had input to consume: %v", timeout, r.busy)
	case r.tooAmbiguous && !r.drained:
		s.fail("%d accounts wrong, and with %d unconfirmed transfers (more than %d) the check cannot tell whether some of them explain it: rerun with fewer (see the 503s and connection errors)",
			len(r.wrong), countMaybe(transfers), maxMaybe)
	case !r.drained:
		s.fail("%d accounts wrong after waiting %s (details in %s)%s", len(r.wrong), timeout, filepath.Join(h.dir, "wrong-accounts.txt"), behind)
	}
	if r.sum != 0 {
		s.fail("sum of balances is %s, want 0.00", wallet.Cents(r.sum).String())
	}
	return r
}

// countMaybe counts the transfers sent whose outcome is not known.
func countMaybe(transfers []*transfer) int {
	n := 0
	for _, t := range transfers {
		if t.maybe() {
			n++
		}
	}
	return n
}

// measureFailovers times processor failovers with no load: each one in
// mode "restarted", and in mode "held" when another processor can take
// the partitions over.
func (h *runner) measureFailovers(ctx context.Context, s *summary) {
	rng := rand.New(rand.NewPCG(h.c.Seed, 4))
	for range h.c.Failover {
		modes := []bool{false}
		if len(h.cluster.processors) > 1 {
			modes = append(modes, true)
		}
		for _, hold := range modes {
			f, err := measureFailover(ctx, h.prober, h.cluster, rng, hold)
			if err != nil {
				s.fail("failover: %v", err)
				return
			}
			s.failover = append(s.failover, f)
			s.ProcessorKills++
			if err := h.cluster.ready(ctx, 2*time.Minute); err != nil {
				s.fail("processes not back up after the failover measurement: %v", err)
				return
			}
		}
	}
}

// idle reports an error unless both processor groups have committed
// every input message.
func (h *runner) idle(ctx context.Context) error {
	groups, err := kafkaState(ctx, h.cluster.brokerAddr, h.c.Partitions)
	if err != nil {
		return err
	}
	var busy []string
	for _, g := range groups {
		if g.total() != 0 {
			busy = append(busy, g.String())
		}
	}
	if len(busy) > 0 {
		return errors.New(strings.Join(busy, "; "))
	}
	return nil
}

// watchLag logs the processor groups' lag every 15 s until ctx is done.
func (h *runner) watchLag(ctx context.Context) {
	harness.Every(ctx, 15*time.Second, func() {
		groups, err := kafkaState(ctx, h.cluster.brokerAddr, h.c.Partitions)
		if err != nil {
			slog.Warn("draining; kafka state unavailable", "error", err)
			return
		}
		for _, g := range groups {
			slog.Info("draining", "group", g.group, "state", g.state, "members", g.members, "lag", g.total())
		}
	})
}

// lagVerdict tells, for a failed check, whether the processors were
// still behind (not drained: slow or stuck) or had consumed everything
// (balances wrong: lost or doubled instructions), and saves the groups' state.
func (h *runner) lagVerdict(ctx context.Context) (string, int64) {
	groups, err := kafkaState(ctx, h.cluster.brokerAddr, h.c.Partitions)
	if err != nil {
		slog.Error("kafka state", "error", err)
		return "", 0
	}
	var lines []string
	var lag int64
	for _, g := range groups {
		slog.Error("kafka state", "state", g.String())
		lines = append(lines, g.String())
		lag += g.total()
	}
	path := filepath.Join(h.dir, "kafka-state.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		slog.Error("write kafka state", "path", path, "error", err)
	}
	if lag > 0 {
		return fmt.Sprintf("; the processors had not consumed their input: lag %d messages (groups, members and assignments in %s)", lag, path), lag
	}
	return fmt.Sprintf("; the processors had consumed all their input (%s)", path), 0
}
