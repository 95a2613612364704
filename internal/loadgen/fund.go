package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/ledger"
)

// fundResult is what the funding phase did.
type fundResult struct {
	deposits int
	cents    int64 // deposited in all
	took     time.Duration
	posts    int64
	pending  int64 // answered 202: not final within the wait, posted again
	ledger   ledger.Ledger
}

// fundWait is how long a deposit's POST waits for its outcome (Prefer:
// wait): under the HTTP client's timeout.
func fundWait(cfg config) time.Duration {
	return max(time.Second, min(5*time.Second, cfg.timeout/2).Truncate(time.Second))
}

// fund deposits into every account of amounts its amount, cfg.concurrency
// at a time, each POST waiting for the outcome; a deposit answered 202
// (not final yet), 503 or not at all is posted again with the same request
// ID until it is answered 201 completed, for at most cfg.drainTimeout.
// Once fund returns, every deposit is applied: the load that follows
// finds the money there.
func fund(ctx context.Context, cfg config, cl *api.Client, amounts map[string]int64) (fundResult, error) {
	res := fundResult{deposits: len(amounts)}
	wc := *cl
	wc.Wait = fundWait(cfg)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var posts, pending atomic.Int64
	type job struct {
		name  string
		cents int64
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(cfg.concurrency, max(len(amounts), 1)) {
		wg.Go(func() {
			for j := range jobs {
				if err := deposit(ctx, &wc, uuid.New(), j.name, j.cents, time.Now().Add(cfg.drainTimeout), &posts, &pending); err != nil {
					cancel(err)
				}
			}
		})
	}
	for name, cents := range amounts {
		res.cents += cents
		res.ledger.Add(0, wallet.World, name, cents)
		select {
		case jobs <- job{name, cents}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	res.took, res.posts, res.pending = time.Since(start), posts.Load(), pending.Load()
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("fund %d accounts: %w", len(amounts), err)
	}
	slog.Info("funded", "deposits", res.deposits, "amount", wallet.Cents(res.cents).String(), "took", res.took.Round(time.Millisecond), "posts", res.posts, "202s", res.pending)
	return res, nil
}

// deposit posts one deposit until it is answered 201 completed.
func deposit(ctx context.Context, cl *api.Client, id uuid.UUID, name string, cents int64, deadline time.Time, posts, pending *atomic.Int64) error {
	backoff := 20 * time.Millisecond
	for {
		posts.Add(1)
		a, err := cl.Deposit(ctx, id, name, wallet.Cents(cents))
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case err != nil, a.Status >= 500:
		case a.Status == http.StatusAccepted:
			pending.Add(1)
		case a.Status == http.StatusCreated:
			t, err := a.TransferResponse()
			switch {
			case err != nil:
				return fmt.Errorf("deposit %s into %s: %w", id, name, err)
			case t.Status == wallet.Completed:
				return nil
			case t.Status.Final():
				return fmt.Errorf("deposit %s of %s into %s ended %s %s", id, wallet.Cents(cents), name, t.Status, t.Reason)
			}
			pending.Add(1) // an API that answers 201 pending: wait again
		default:
			return fmt.Errorf("deposit %s into %s answered %d %s", id, name, a.Status, a.Code())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deposit %s into %s: not completed before the deadline", id, name)
		}
		if !sleep(ctx, backoff) {
			return context.Cause(ctx)
		}
		backoff = min(2*backoff, time.Second)
	}
}
