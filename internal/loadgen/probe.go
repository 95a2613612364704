package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// prober sends probe transfers between the two probe-only accounts, one at
// a time, and measures how long after the 201 the view shows each: the
// apply latency. One at a time, because transfers in different partitions
// of the request topic may be applied in either order; serial probes make
// the recipient's balance rise by exactly one probe at a time.
type prober struct {
	cl       *api.Client // posts as the tally's goroutine (tally.client)
	rng      *rand.Rand
	from, to string
	tally    *tally
	expected int64   // the recipient's balance once every accepted probe is applied
	samples  []int64 // apply latencies, nanoseconds; a lower bound for unfinished ones
	// unfinished counts probes still not visible when their context ended:
	// their samples are the time waited, a lower bound.
	unfinished int
	broken     error // set after a failure: no more probes
}

// probeInterval is how often the view is polled for a probe at first;
// polling slows down to 2% of the time waited, so that a long wait costs
// the system little.
const probeInterval = 2 * time.Millisecond

const probeCents = 100

func newProber(cfg config, cl *api.Client, seed uint64, prog *progress) *prober {
	rng := rand.New(rand.NewPCG(seed, 0))
	a := newAccounts(cfg, rng)
	t := newTally(1024, prog)
	return &prober{cl: t.client(cl, cfg.retries), rng: rng, from: a.probeFrom(), to: a.probeTo(), tally: t}
}

// run sends a probe for every kick until stop is closed, then returns
// after the probe in flight, or when ctx is done.
func (p *prober) run(ctx context.Context, kick <-chan struct{}, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-kick:
			if p.broken == nil {
				_, _ = p.probe(ctx, true)
			}
		}
	}
}

// probe sends one probe and waits until the view shows it or ctx is done;
// with record, its latency (or, unfinished, the time waited) is a sample.
func (p *prober) probe(ctx context.Context, record bool) (time.Duration, error) {
	if p.broken != nil {
		return 0, p.broken
	}
	t := newTransfer(p.rng, p.from, p.to, probeCents)
	_, ok, maybe := p.tally.send(ctx, p.cl, t, "")
	if !ok {
		if maybe {
			// The recipient's balance is unknown from now on.
			p.broken = errors.New("a probe was not confirmed: probes stopped")
			return 0, p.broken
		}
		return 0, errors.New("a probe was rejected")
	}
	accepted := time.Now()
	p.expected += probeCents
	for {
		polled := time.Now()
		b := harness.ReadBalance(ctx, p.cl, p.to)
		got, err := b.Cents, b.Err
		if err == nil && !b.Found {
			err = fmt.Errorf("probe account %s not found", p.to)
		}
		seen := time.Now()
		waited := seen.Sub(accepted)
		switch {
		case err == nil && got == p.expected:
			if record {
				p.samples = append(p.samples, int64(waited))
			}
			return waited, nil
		case err == nil && got > p.expected:
			p.broken = fmt.Errorf("probe account %s shows %s, more than the %s probed: is -prefix shared with another run?", p.to, wallet.Cents(got).String(), wallet.Cents(p.expected).String())
			return 0, p.broken
		}
		wait := max(probeInterval, waited/50) - time.Since(polled)
		if ctx.Err() != nil || (wait > 0 && !harness.Sleep(ctx, wait)) {
			if record {
				p.samples = append(p.samples, int64(waited))
				p.unfinished++
			}
			p.broken = fmt.Errorf("a probe was not visible after %s, when the wait ended", waited.Round(time.Millisecond))
			return waited, p.broken
		}
	}
}
