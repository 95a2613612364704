package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet"
)

// errSetup is a failure to set the run up, as opposed to a check that
// failed.
var errSetup = errors.New("setup")

// harness is one chaos run.
type harness struct {
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
	var h *harness
	defer func() {
		if h != nil {
			s.Exits = h.cluster.exits()
			s.Posts, s.Unavailable, s.ConnErrors = h.client.posts.Load(), h.client.unavail.Load(), h.client.connErrors.Load()
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
	h = &harness{
		c:       c,
		dir:     dir,
		cluster: cl,
		client:  newClient(cl.emitterURL, cl.viewURL, c.Concurrency),
		journal: newJournal(rand.New(rand.NewPCG(c.Seed, 0)), c.N, c.Accounts),
	}
	defer h.client.close()
	h.prober = newProber(h.client, h.journal, c)
	names, _ := h.journal.snapshot() // the probes' accounts included
	h.signups = newSignups(rand.New(rand.NewPCG(c.Seed, 5)), names, c.Claimants)

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
	// End to end: a transfer through every partition is applied.
	if took, err := h.prober.probe(ctx, time.Now(), 3*time.Minute); err != nil {
		return s, fmt.Errorf("%w: first transfers through every partition: %w", errSetup, err)
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
	slog.Info("sends done; waiting for the balances", "timeout", c.DrainTimeout)
	r := h.check(ctx, s, c.DrainTimeout)
	s.drain = r.took
	h.checkSignups(ctx, s)
	if !r.drained || ctx.Err() != nil {
		return s, nil
	}
	h.measureFailovers(ctx, s)
	if len(s.failover) > 0 {
		slog.Info("checking the balances again after the failover measurements")
		h.check(ctx, s, time.Minute)
	}
	return s, nil
}

// sendWithChaos sends the transfers while the chaos runs, then stops it.
func (h *harness) sendWithChaos(ctx context.Context, s *summary) {
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
	s.ProcessorKills += cs.processorKills
	s.BrokerRestarts = cs.brokerKills
	s.sendTime = ls.elapsed
	slog.Info("sends done", "took", ls.elapsed.Round(time.Millisecond), "accepted", ls.accepted,
		"unconfirmed", ls.unconfirmed, "processor kills", cs.processorKills, "broker kills", cs.brokerKills)
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
func (h *harness) signUp(ctx context.Context, s *summary) {
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
	s.ProcessorKills += kills
	s.Signups = &signupSummary{Kills: kills, Seconds: time.Since(start).Seconds()}
	s.Signups.fill(ss)
	slog.Info("signups done", "took", time.Since(start).Round(time.Millisecond), "processor kills", kills,
		"posts", ss.posts.Load(), "202s", ss.pending.Load())
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
func (h *harness) checkSignups(ctx context.Context, s *summary) {
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
func (h *harness) progress(ctx context.Context, done *atomic.Int64) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			slog.Info("progress", "sent", done.Load(), "of", h.c.N, "posts", h.client.posts.Load(),
				"503s", h.client.unavail.Load(), "connection errors", h.client.connErrors.Load(), "exits", h.cluster.exits())
		}
	}
}

// check waits for the balances and records the verdict in s.
func (h *harness) check(ctx context.Context, s *summary, timeout time.Duration) checkResult {
	names, transfers := h.journal.snapshot()
	watchCtx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { h.watchLag(watchCtx) })
	r := drain(ctx, h.client, names, transfers, timeout, h.idle)
	stopWatch()
	wg.Wait()
	var behind string
	if !r.drained && len(r.wrong) > 0 && ctx.Err() == nil {
		var lag int64
		behind, lag = h.lagVerdict(ctx)
		if lag > 0 {
			// Payments not consumed yet explain any difference: calling
			// one lost or doubled would be a guess.
			r.lost, r.doubled = 0, 0
			for i := range r.wrong {
				r.wrong[i].Verdict, r.wrong[i].RequestID = "behind", ""
			}
		}
	}
	s.Lost, s.Doubled, s.AccountsWrong = r.lost, r.doubled, len(r.wrong)
	s.Sum = wallet.Cents(r.sum).String()
	s.UnconfApplied = r.applied
	s.Wrong = r.wrong
	if n, err := h.client.staleRecords(ctx); err != nil {
		slog.Warn("stale table records not readable from the view", "error", err)
	} else {
		s.StaleRecords = n
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

// countMaybe counts the transfers sent but never answered 201.
func countMaybe(transfers []*transfer) int {
	n := 0
	for _, t := range transfers {
		if t.sent && t.outcome != accepted {
			n++
		}
	}
	return n
}

// measureFailovers times processor failovers with no load: each one in
// mode "restarted", and in mode "held" when another processor can take
// the partitions over.
func (h *harness) measureFailovers(ctx context.Context, s *summary) {
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
func (h *harness) idle(ctx context.Context) error {
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
func (h *harness) watchLag(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			groups, err := kafkaState(ctx, h.cluster.brokerAddr, h.c.Partitions)
			if err != nil {
				slog.Warn("draining; kafka state unavailable", "error", err)
				continue
			}
			for _, g := range groups {
				slog.Info("draining", "group", g.group, "state", g.state, "members", g.members, "lag", g.total())
			}
		}
	}
}

// lagVerdict tells, for a failed check, whether the processors were
// still behind (not drained: slow or stuck) or had consumed everything
// (balances wrong: lost or doubled payments), and saves the groups' state.
func (h *harness) lagVerdict(ctx context.Context) (string, int64) {
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
