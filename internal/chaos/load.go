package chaos

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// loadStats counts what the client did.
type loadStats struct {
	sent        int // transfers posted at least once
	accepted    int // answered 201 at least once
	unconfirmed int // never answered 201
	rejected    int // answered 4xx
	reposts     int // re-posts of accepted transfers
	elapsed     time.Duration
}

// jobs hands out the generated transfers in order and, now and then, an
// accepted transfer queued for a later re-post.
type jobs struct {
	mu      sync.Mutex
	rng     *rand.Rand
	l       *journal
	start   time.Time
	rate    int // new transfers per second; 0 for no limit
	next    int
	reposts []*transfer
}

// take returns the next job, or ok false when no work is left. Re-posts
// queued later by a worker still running are taken by that worker. With
// a rate, the i-th new transfer is due i/rate seconds after the start;
// take returns it with the time it is due.
func (j *jobs) take() (t *transfer, repost, ok bool, due time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.reposts); n > 0 && (j.next >= len(j.l.transfers) || j.rng.IntN(4) == 0) {
		i := j.rng.IntN(n)
		t = j.reposts[i]
		j.reposts[i] = j.reposts[n-1]
		j.reposts = j.reposts[:n-1]
		return t, true, true, time.Time{}
	}
	if j.next < len(j.l.transfers) {
		t = j.l.transfers[j.next]
		if j.rate > 0 {
			due = j.start.Add(time.Duration(j.next) * time.Second / time.Duration(j.rate))
		}
		j.next++
		return t, false, true, due
	}
	return nil, false, false, time.Time{}
}

func (j *jobs) later(t *transfer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reposts = append(j.reposts, t)
}

// runLoad sends every transfer of the journal with c.Concurrency workers,
// at most c.Rate new ones per second if set.
// After a 201, a transfer is re-posted with probability c.Repost percent,
// at once or later. done counts transfers whose first post has ended.
func runLoad(ctx context.Context, c config, cl *client, l *journal, done *atomic.Int64) loadStats {
	start := time.Now()
	j := &jobs{rng: rand.New(rand.NewPCG(c.Seed, 1)), l: l, start: start, rate: c.Rate}
	var reposts atomic.Int64
	var wg sync.WaitGroup
	for w := range c.Concurrency {
		rng := rand.New(rand.NewPCG(c.Seed, uint64(100+w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				t, repost, ok, due := j.take()
				if !ok {
					return
				}
				if wait := time.Until(due); wait > 0 {
					sleep(ctx, wait)
				}
				body := l.body(t)
				if repost {
					reposts.Add(1)
					cl.send(ctx, body, time.Now().Add(c.TransferWait))
					continue
				}
				t.sent = true
				t.outcome = cl.send(ctx, body, time.Now().Add(c.TransferWait))
				done.Add(1)
				if t.outcome == accepted && rng.IntN(100) < c.Repost {
					if rng.IntN(2) == 0 {
						reposts.Add(1)
						cl.send(ctx, body, time.Now().Add(c.TransferWait))
					} else {
						j.later(t)
					}
				}
			}
		})
	}
	wg.Wait()
	s := loadStats{reposts: int(reposts.Load()), elapsed: time.Since(start)}
	for _, t := range l.transfers {
		if !t.sent {
			continue
		}
		s.sent++
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
