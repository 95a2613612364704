package chaos

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
)

// loadStats counts what the client did.
type loadStats struct {
	sent        int // transfers posted at least once
	accepted    int // answered 201 at least once
	unconfirmed int // never answered 201
	rejected    int // answered 4xx
	reposts     int // re-posts of accepted transfers
	conflicts   int // conflicting re-uses of accepted transfers' request IDs
	byKind      [len(kindNames)]int
	elapsed     time.Duration
}

// job is one POST of the load: a new transfer, a re-post of an accepted
// one, or a conflicting re-use of an accepted one's request ID.
type job struct {
	t        *transfer
	repost   bool
	conflict *conflict
}

// jobs hands out the generated transfers in order and, now and then, a
// re-post or conflicting re-use of an accepted transfer queued for later.
type jobs struct {
	mu    sync.Mutex
	rng   *rand.Rand
	l     *journal
	start time.Time
	rate  int // new transfers per second; 0 for no limit
	next  int
	later []job
}

// take returns the next job, or ok false when no work is left. Jobs
// queued later by a worker still running are taken by that worker. With
// a rate, the i-th new transfer is due i/rate seconds after the start;
// take returns it with the time it is due.
func (j *jobs) take() (jb job, ok bool, due time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.later); n > 0 && (j.next >= len(j.l.transfers) || j.rng.IntN(4) == 0) {
		i := j.rng.IntN(n)
		jb = j.later[i]
		j.later[i] = j.later[n-1]
		j.later = j.later[:n-1]
		return jb, true, time.Time{}
	}
	if j.next < len(j.l.transfers) {
		jb = job{t: j.l.transfers[j.next]}
		if j.rate > 0 {
			due = j.start.Add(time.Duration(j.next) * time.Second / time.Duration(j.rate))
		}
		j.next++
		return jb, true, due
	}
	return job{}, false, time.Time{}
}

func (j *jobs) queue(jb job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.later = append(j.later, jb)
}

// post sends t by its kind: over HTTP, or to Kafka, retrying for at
// most wait.
func post(ctx context.Context, cl *client, l *journal, t *transfer, wait time.Duration) outcome {
	body := l.body(t)
	if t.kind == viaKafka {
		return cl.produce(ctx, body, time.Now().Add(wait))
	}
	return cl.send(ctx, body, t.kind)
}

// runLoad sends every transfer of the journal with c.Concurrency workers,
// at most c.Rate new ones per second if set. After a 201, a transfer is
// re-posted with probability c.Repost percent, at once or later; and an
// accepted transfer between two accounts has its request ID re-used for
// another amount, later, with probability c.Conflict percent. done counts
// transfers whose first post has ended.
func runLoad(ctx context.Context, c config, cl *client, l *journal, done *atomic.Int64) loadStats {
	start := time.Now()
	j := &jobs{rng: rand.New(rand.NewPCG(c.Seed, 1)), l: l, start: start, rate: c.Rate}
	var reposts, conflicts atomic.Int64
	var wg sync.WaitGroup
	for w := range c.Concurrency {
		rng := rand.New(rand.NewPCG(c.Seed, uint64(100+w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				jb, ok, due := j.take()
				if !ok {
					return
				}
				if wait := time.Until(due); wait > 0 {
					harness.Sleep(ctx, wait)
				}
				t := jb.t
				switch {
				case jb.conflict != nil:
					conflicts.Add(1)
					body := l.body(jb.conflict.orig)
					body.Amount = wallet.Cents(jb.conflict.cents)
					jb.conflict.code = cl.sendConflict(ctx, body)
					l.addConflict(jb.conflict)
					continue
				case jb.repost:
					reposts.Add(1)
					post(ctx, cl, l, t, c.TransferWait)
					continue
				}
				t.sent = true
				t.outcome = post(ctx, cl, l, t, c.TransferWait)
				done.Add(1)
				if t.outcome != accepted {
					continue
				}
				if rng.IntN(100) < c.Repost {
					if rng.IntN(2) == 0 {
						reposts.Add(1)
						post(ctx, cl, l, t, c.TransferWait)
					} else {
						j.queue(job{t: t, repost: true})
					}
				}
				if t.kind == ordinary && rng.IntN(100) < c.Conflict {
					j.queue(job{conflict: &conflict{orig: t, cents: t.cents%maxTransferCents + 1}})
				}
			}
		})
	}
	wg.Wait()
	s := loadStats{reposts: int(reposts.Load()), conflicts: int(conflicts.Load()), elapsed: time.Since(start)}
	for _, t := range l.transfers {
		if !t.sent {
			continue
		}
		s.sent++
		s.byKind[t.kind]++
		switch t.outcome {
		case accepted:
			s.accepted++
		case rejected:
			s.rejected++
		default:
			s.unconfirmed++
		}
	}
	return s
}
