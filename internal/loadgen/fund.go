package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
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
// (not final yet), 5xx or not at all is posted again with the same
// request ID until it is answered 201 completed, for at most
// cfg.drainTimeout. Once fund returns, every deposit is applied: the load
// that follows finds the money there.
func fund(ctx context.Context, cfg config, cl *api.Client, amounts map[string]int64) (fundResult, error) {
	res := fundResult{deposits: len(amounts)}
	var counts harness.Counts
	wc := cl.WithRetry(&api.Retry{For: cfg.drainTimeout, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second, Pending: true, OnAnswer: counts.Count})
	wc.Wait = fundWait(cfg)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		name  string
		cents int64
	}
	jobs := make([]job, 0, len(amounts))
	for name, cents := range amounts {
		res.cents += cents
		res.ledger.Add(0, wallet.World, name, cents)
		jobs = append(jobs, job{name, cents})
	}
	start := time.Now()
	harness.ForEach(ctx, len(jobs), cfg.concurrency, func(i int) {
		if err := deposit(ctx, wc, uuid.New(), jobs[i].name, jobs[i].cents); err != nil {
			cancel(err)
		}
	})
	res.took, res.posts, res.pending = time.Since(start), counts.Posts.Load(), counts.Pending.Load()
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("fund %d accounts: %w", len(amounts), err)
	}
	slog.Info("funded", "deposits", res.deposits, "amount", wallet.Cents(res.cents).String(), "took", res.took.Round(time.Millisecond), "posts", res.posts, "202s", res.pending)
	return res, nil
}

// deposit posts one deposit with cl, which waits for its outcome and
// posts it again until it is decided, and checks that it completed.
func deposit(ctx context.Context, cl *api.Client, id uuid.UUID, name string, cents int64) error {
	a, err := cl.Deposit(ctx, id, name, wallet.Cents(cents))
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil, a.Status == http.StatusAccepted, a.Status >= 500:
		return fmt.Errorf("deposit %s into %s: not completed before the deadline (last answer %d, %v)", id, name, a.Status, err)
	case a.Status != http.StatusCreated:
		return fmt.Errorf("deposit %s into %s answered %d %s", id, name, a.Status, a.Code())
	}
	t, err := a.TransferResponse()
	switch {
	case err != nil:
		return fmt.Errorf("deposit %s into %s: %w", id, name, err)
	case t.Status != wallet.Completed:
		// A 201 that is not final comes from an API that does not wait.
		return fmt.Errorf("deposit %s of %s into %s answered 201 %q %s, not completed", id, wallet.Cents(cents), name, t.Status, t.Reason)
	}
	return nil
}
