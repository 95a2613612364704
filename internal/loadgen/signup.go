package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// signupResult is what the signup phase did.
type signupResult struct {
	accounts   int           // accounts signed up
	took       time.Duration // from the first claim to the last 201
	posts      int64
	pending    int64 // 202 answers: no decision within the API's timeout
	unavail    int64 // 5xx answers
	connErrors int64 // POSTs without an answer
}

// signupNames returns the accounts a run uses: the two probe accounts
// and, for a load, every account of the plan (nil with -probe).
func signupNames(cfg config, p *plan) []string {
	a := &accounts{prefix: cfg.prefix} // names only
	names := []string{a.probeFrom(), a.probeTo()}
	if p != nil {
		names = append(names, p.names(a)...)
	}
	return names
}

// signUp signs every name up before the load, cfg.concurrency claims at a
// time, with request IDs drawn from seed. A claim answered 202 (not
// decided yet), 5xx or not at all is posted again with the same request
// ID until it is answered 201, for at most cfg.drainTimeout. Any other
// answer fails the run: 409 username_taken means that another run used
// the same -prefix.
func signUp(ctx context.Context, cfg config, cl *api.Client, names []string, seed uint64) (signupResult, error) {
	res := signupResult{accounts: len(names)}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var counts harness.Counts
	var done atomic.Int64
	claims := cl.WithRetry(&api.Retry{For: cfg.drainTimeout, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second, Pending: true, OnAnswer: counts.Count})
	logCtx, stopLog := context.WithCancel(ctx)
	var logs sync.WaitGroup
	logs.Go(func() {
		harness.Every(logCtx, 10*time.Second, func() {
			slog.Info("signing up", "done", done.Load(), "of", len(names), "posts", counts.Posts.Load(), "202s", counts.Pending.Load())
		})
	})
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 1<<33))
	ids := make([]uuid.UUID, len(names))
	for i := range ids {
		ids[i] = harness.RandomUUID(rng)
	}
	harness.ForEach(ctx, len(names), cfg.concurrency, func(i int) {
		if err := claim(ctx, claims, wallet.Claim{RequestID: ids[i], Username: names[i]}); err != nil {
			cancel(err)
			return
		}
		done.Add(1)
	})
	stopLog()
	logs.Wait()
	res.took = time.Since(start)
	res.posts, res.pending = counts.Posts.Load(), counts.Pending.Load()
	res.unavail, res.connErrors = counts.Unavailable.Load(), counts.ConnErrors.Load()
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("sign up %d accounts: %w", len(names), err)
	}
	return res, nil
}

// errUndecided is a claim without a 201 after its retries.
var errUndecided = errors.New("no 201 before the deadline")

// claim posts c with cl, which posts it again until it is decided, and
// checks that it won; cl then holds the account's key.
func claim(ctx context.Context, cl *api.Client, c wallet.Claim) error {
	a, err := cl.PostAccount(ctx, c)
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil, a.Status == http.StatusAccepted, a.Status >= 500:
		return fmt.Errorf("claim of %s (request ID %s): %w", c.Username, c.RequestID, errUndecided)
	case a.Status == http.StatusCreated:
		// A re-post of a claim that won is answered without the key.
		if _, err := harness.IssueMissingKey(ctx, cl, c.Username); err != nil {
			return fmt.Errorf("claim of %s (request ID %s) won: %w", c.Username, c.RequestID, err)
		}
		return nil
	case a.Status == http.StatusConflict && a.Code() == string(wallet.EUsernameTaken):
		return fmt.Errorf("account %s is taken by another claim: is -prefix shared with another run?", c.Username)
	}
	return fmt.Errorf("claim of %s (request ID %s) answered %d %s", c.Username, c.RequestID, a.Status, a.Code())
}
