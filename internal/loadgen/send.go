package loadgen

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wallet/wallet/api"
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
}

// worker is one sender's state: no field is shared.
type worker struct {
	cfg       config
	cl        *api.Client
	rng       *rand.Rand
	acc       *accounts // for names
	plan      *plan
	tally     *tally
	ledger    ledger.Ledger
	uncertain map[string]bool
	recent    [][]byte // accepted bodies, for re-posts
	next      int      // where the next accepted body goes in recent, once full
	accepted  int64
	reposts   int64
	rejected  int64
	lost      int64
	moved     int64
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
		workers[i] = &worker{
			cfg: cfg, cl: cl, rng: rng, acc: &accounts{prefix: cfg.prefix}, plan: pl,
			tally:     newTally(cfg.n/cfg.concurrency + 16),
			uncertain: map[string]bool{},
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

	res.tally, res.ledger, res.uncertain = newTally(cfg.n), &ledger.Ledger{}, map[string]bool{}
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
	}
	return res
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
		if len(w.recent) > 0 && w.rng.IntN(100) < w.cfg.repost {
			w.reposts++
			w.tally.send(ctx, w.cl, w.recent[w.rng.IntN(len(w.recent))], w.cfg.retries, prog)
		} else {
			w.sendNew(ctx, i, prog)
		}
		prog.done.Add(1)
	}
}

func (w *worker) sendNew(ctx context.Context, seq int, prog *progress) {
	from, to := w.plan.pair(w.acc, seq)
	cents := w.rng.Int64N(w.cfg.maxCents) + 1
	t := newTransfer(w.rng, from, to, cents)
	ok, ambiguous := w.tally.send(ctx, w.cl, t.body, w.cfg.retries, prog)
	switch {
	case ok:
		w.accepted++
		w.moved += cents
		w.ledger.Add(seq, from, to, cents)
		if w.cfg.repost > 0 {
			w.remember(t.body)
		}
	case ambiguous:
		// Stored or not, nobody knows: leave both accounts out of the check.
		w.lost++
		w.uncertain[from], w.uncertain[to] = true, true
	default:
		w.rejected++
	}
}

// remember keeps body for re-posts, replacing the oldest once full.
func (w *worker) remember(body []byte) {
	if len(w.recent) < recentBodies {
		w.recent = append(w.recent, body)
		return
	}
	w.recent[w.next] = body
	w.next = (w.next + 1) % recentBodies
}
