package loadgen

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// sendResult is what the load phase did.
type sendResult struct {
	start, end time.Time // first POST sent, last answer received
	tally      *tally
	accepted   int64 // distinct new transfers answered 201
	reposts    int64 // re-posts of accepted transfers
	rejected   int64 // new transfers refused (4xx): not stored
	lost       int64 // new transfers without a 201 after the retries: maybe stored
	moved      int64 // cents moved by the accepted transfers
	ledger     *ledger.Ledger
	uncertain  map[string]bool // accounts touched by a lost transfer
	special    specialCounts
	checks     []check // transfers whose outcome is read with GET after the load
}

// specialCounts counts the special shares of the load.
type specialCounts struct {
	Overdrafts     int64 `json:"overdrafts"`      // overdraft attempts answered 201
	Withdrawals    int64 `json:"withdrawals"`     // withdrawals answered 201
	UnknownRefused int64 `json:"unknown_refused"` // transfers to unknown names answered 404 account_not_found
	UnknownStored  int64 `json:"unknown_201"`     // transfers to unknown names answered 201: the saga rejects them
	Conflicts      int64 `json:"conflicts"`       // conflicting re-uses of a request ID posted
	Conflicts409   int64 `json:"conflicts_409"`
	Conflicts201   int64 `json:"conflicts_201"` // the API's view did not know the first one yet
}

func (c *specialCounts) add(o specialCounts) {
	c.Overdrafts += o.Overdrafts
	c.Withdrawals += o.Withdrawals
	c.UnknownRefused += o.UnknownRefused
	c.UnknownStored += o.UnknownStored
	c.Conflicts += o.Conflicts
	c.Conflicts409 += o.Conflicts409
	c.Conflicts201 += o.Conflicts201
}

// worker is one sender's state: no field is shared.
type worker struct {
	cfg       config
	cl        *api.Client // posts as the worker's tally counts (tally.client)
	rng       *rand.Rand
	acc       *accounts // for names
	plan      *plan
	tally     *tally
	ledger    ledger.Ledger
	uncertain map[string]bool
	recent    []transfer // accepted transfers between two accounts, for re-posts and conflicts
	next      int        // where the next accepted one goes in recent, once full
	accepted  int64
	reposts   int64
	rejected  int64
	lost      int64
	moved     int64
	special   specialCounts
	checks    []check
	overdraft int64 // cents of an overdraft attempt: more than any account can have
	sample    int   // per mille of accepted transfers between two accounts whose outcome is read
}

const recentBodies = 1024

// sendLoad sends cfg.n transfers with cfg.concurrency workers, paced at
// cfg.rate if set, and kicks the prober every cfg.probeEvery transfers.
// Transfer i, unless it is a re-post, goes between the accounts of pl's
// pair i.
func sendLoad(ctx context.Context, cfg config, cl *api.Client, seed uint64, pl *plan, prog *progress, kick chan<- struct{}) sendResult {
	jobs := make(chan int, 2*cfg.concurrency)
	workers := make([]*worker, cfg.concurrency)
	for i := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		t := newTally(cfg.n/cfg.concurrency+16, prog)
		workers[i] = &worker{
			cfg: cfg, cl: t.client(cl, cfg.retries), rng: rng, acc: &accounts{prefix: cfg.prefix}, plan: pl,
			tally:     t,
			uncertain: map[string]bool{},
			overdraft: pl.overdraftCents,
			sample:    sampleRate(cfg.n),
		}
	}
	res := sendResult{start: time.Now()}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx, jobs, prog, kick) })
	}
	dispatch(ctx, cfg.n, cfg.rate, jobs)
	wg.Wait()
	res.end = time.Now()

	res.tally, res.ledger, res.uncertain = newTally(cfg.n, nil), &ledger.Ledger{}, map[string]bool{}
	for _, w := range workers {
		res.tally.merge(w.tally)
		res.ledger.Merge(&w.ledger)
		for a := range w.uncertain {
			res.uncertain[a] = true
		}
		res.accepted += w.accepted
		res.reposts += w.reposts
		res.rejected += w.rejected
		res.lost += w.lost
		res.moved += w.moved
		res.special.add(w.special)
		res.checks = append(res.checks, w.checks...)
	}
	return res
}

// sampledChecks is about how many accepted transfers between two accounts
// have their outcome read with GET after the load; the balances check
// the rest.
const sampledChecks = 1000

// sampleRate returns the per mille of accepted transfers between two
// accounts to read: all of them up to sampledChecks.
func sampleRate(n int) int {
	return min(1000, max(1, sampledChecks*1000/max(n, 1)))
}

// dispatch hands out the indices 0..n-1: as fast as the workers take them,
// or rate a second on a fixed schedule. A schedule that falls behind
// (every worker busy) catches up as soon as workers are free.
func dispatch(ctx context.Context, n, rate int, jobs chan<- int) {
	defer close(jobs)
	if rate == 0 {
		for i := range n {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
		return
	}
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; {
		due := min(n, int(int64(time.Since(start))*int64(rate)/int64(time.Second))+1)
		for ; i < due; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (w *worker) run(ctx context.Context, jobs <-chan int, prog *progress, kick chan<- struct{}) {
	for i := range jobs {
		if ctx.Err() != nil {
			return
		}
		if i%w.cfg.probeEvery == 0 {
			select {
			case kick <- struct{}{}:
			default: // a probe is in flight: skip this one
			}
		}
		switch r := w.rng.IntN(100); {
		case len(w.recent) > 0 && r < w.cfg.repost:
			w.reposts++
			w.tally.send(ctx, w.cl, w.recent[w.rng.IntN(len(w.recent))], "")
		case len(w.recent) > 0 && r < w.cfg.repost+w.cfg.conflict:
			w.sendConflict(ctx)
		default:
			w.sendNew(ctx, i)
		}
		prog.done.Add(1)
	}
}

func (w *worker) sendNew(ctx context.Context, seq int) {
	from, to := w.plan.pair(w.acc, seq)
	cents := w.rng.Int64N(w.cfg.maxCents) + 1
	var t transfer
	expect := ""
	switch w.plan.kinds[seq] {
	case overdraft:
		t = newTransfer(w.rng, from, to, w.overdraft)
		t.kind = overdraft
	case unknownTo:
		t = newTransfer(w.rng, from, w.acc.unknown(seq), cents)
		t.kind, expect = unknownTo, "404 "+string(wallet.EAccountNotFound)
	case withdrawal:
		t = newWithdrawal(w.rng, from, cents)
	default:
		t = newTransfer(w.rng, from, to, cents)
	}
	a, ok, maybe := w.tally.send(ctx, w.cl, t, expect)
	switch {
	case ok && t.kind == overdraft:
		w.accepted++
		w.special.Overdrafts++
		w.checks = append(w.checks, check{t: t, want: wallet.Rejected, reason: wallet.ReasonInsufficientFunds})
	case ok && t.kind == unknownTo:
		// The API's view did not know the name was never signed up: the
		// saga debits, finds no recipient, refunds.
		w.accepted++
		w.special.UnknownStored++
		w.checks = append(w.checks, check{t: t, want: wallet.Rejected, reason: wallet.ReasonAccountNotFound})
	case ok:
		w.accepted++
		w.moved += t.cents
		w.ledger.Add(seq, t.from, t.to, t.cents)
		if t.kind == withdrawal {
			w.special.Withdrawals++
			w.checks = append(w.checks, check{t: t, want: wallet.Completed})
			break
		}
		if w.rng.IntN(1000) < w.sample {
			w.checks = append(w.checks, check{t: t, want: wallet.Completed})
		}
		if w.cfg.repost > 0 || w.cfg.conflict > 0 {
			w.remember(t)
		}
	case harness.AnswerKey(a, nil) == expect:
		w.special.UnknownRefused++
	case maybe && t.kind != ordinary && t.kind != withdrawal:
		// Moves nothing either way.
		w.lost++
	case maybe:
		// Stored or not, nobody knows: leave both accounts out of the check.
		w.lost++
		w.uncertain[t.from], w.uncertain[t.to] = true, true
	default:
		w.rejected++
	}
}

// sendConflict re-uses an accepted transfer's request ID for another
// amount: the API must answer 409 request_id_conflict, or 201 when its
// view did not know the first one yet (paymentd then keeps the first and
// dead-letters this one). Either way the first is what counts: its
// outcome is read after the load.
func (w *worker) sendConflict(ctx context.Context) {
	orig := w.recent[w.rng.IntN(len(w.recent))]
	t := orig.reused(orig.cents%w.cfg.maxCents + 1)
	if t.cents == orig.cents {
		t = orig.reused(orig.cents + 1)
	}
	w.special.Conflicts++
	a, ok, _ := w.tally.send(ctx, w.cl, t, "409 "+string(wallet.ERequestIDConflict))
	switch {
	case ok:
		w.special.Conflicts201++
	case a.Status == http.StatusConflict:
		w.special.Conflicts409++
	}
	w.checks = append(w.checks, check{t: orig, want: wallet.Completed, conflict: true})
}

// remember keeps t for re-posts and conflicts, replacing the oldest once
// full.
func (w *worker) remember(t transfer) {
	if len(w.recent) < recentBodies {
		w.recent = append(w.recent, t)
		return
	}
	w.recent[w.next] = t
	w.next = (w.next + 1) % recentBodies
}
