// Package harness holds what the two test harnesses, the chaos harness
// (internal/chaos) and the load generator (internal/loadgen), both need
// to drive a running wallet: waiting and polling under a context, a pool
// of workers, counts of POSTs by their answers, the balances and the
// transfers' outcomes as the view shows them, request IDs drawn from a
// seed, free ports, flag checks and the JSON of a report. Posting again
// with the same request ID is api.Client's (api.Retry): users of the API
// need it too.
package harness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sleep waits d or until ctx is done, and reports whether it waited d: a
// harness must stop at once when its run is interrupted.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Every calls fn every d until ctx is done: the progress a long phase
// logs, so that a run that seems stuck shows where it is.
func Every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// Poll calls check every interval until it returns nil, ctx is done, or
// timeout passes (0: no timeout, only ctx), and returns nil or the last
// error of check with why the polling ended: a process starts, or a view
// catches up, in its own time.
func Poll(ctx context.Context, timeout, interval time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if timeout > 0 && time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", timeout, err)
		}
		if !Sleep(ctx, interval) {
			return fmt.Errorf("last: %v: %w", err, context.Cause(ctx))
		}
	}
}

// ForEach calls fn(i) for every i in 0..n-1, conc calls at a time, and
// returns once they have all returned: the harnesses post and read
// thousands of requests, and one at a time would measure the round
// trips instead of the wallet. Once ctx is done no further i is handed
// out.
func ForEach(ctx context.Context, n, conc int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
