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
)

// signupResult is what the signup phase did.
type signupResult struct {
	accounts   int           // accounts signed up
	took       time.Duration // from the first claim to the last 201
	posts      int64
	pending    int64 // 202 answers: no decision within the API's timeout
	unavail    int64 // 503 and other 5xx answers
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
// decided yet), 503 or not at all is posted again with the same request
// ID until it is answered 201, for at most cfg.drainTimeout. Any other
// answer fails the run: 409 username_taken means that another run used
// the same -prefix.
func signUp(ctx context.Context, cfg config, cl *api.Client, names []string, seed uint64) (signupResult, error) {
	res := signupResult{accounts: len(names)}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var posts, pending, unavail, connErrors, done atomic.Int64
	claims := make(chan wallet.Claim)
	var wg sync.WaitGroup
	for range min(cfg.concurrency, len(names)) {
		wg.Go(func() {
			for c := range claims {
				if err := claim(ctx, cl, c, time.Now().Add(cfg.drainTimeout), &posts, &pending, &unavail, &connErrors); err != nil {
					cancel(err)
					return
				}
				done.Add(1)
			}
		})
	}
	stopLog := make(chan struct{})
	var logs sync.WaitGroup
	logs.Go(func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopLog:
				return
			case <-t.C:
				slog.Info("signing up", "done", done.Load(), "of", len(names), "posts", posts.Load(), "202s", pending.Load())
			}
		}
	})
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 1<<33))
	for _, name := range names {
		c := wallet.Claim{RequestID: uuid.MustParse(requestID(rng)), Username: name}
		select {
		case claims <- c:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(claims)
	wg.Wait()
	close(stopLog)
	logs.Wait()
	res.took = time.Since(start)
	res.posts, res.pending, res.unavail, res.connErrors = posts.Load(), pending.Load(), unavail.Load(), connErrors.Load()
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("sign up %d accounts: %w", len(names), err)
	}
	return res, nil
}

// errUndecided is a claim without a 201 after its retries.
var errUndecided = errors.New("no 201 before the deadline")

// claim posts c until it is answered 201, retrying 202, 5xx and
// connection errors with the same request ID and a growing backoff until
// the deadline.
func claim(ctx context.Context, cl *api.Client, c wallet.Claim, deadline time.Time, posts, pending, unavail, connErrors *atomic.Int64) error {
	backoff := 20 * time.Millisecond
	for {
		posts.Add(1)
		a, err := cl.PostAccount(ctx, c)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case err != nil:
			connErrors.Add(1)
		case a.Status == http.StatusCreated && cl.Key(c.Username) != "":
			return nil
		case a.Status == http.StatusCreated:
			// A re-post of a claim that won, answered without the key
			// (shown once): the operator issues one, as for a user who
			// lost theirs.
			if _, _, err := cl.IssueKey(ctx, uuid.New(), c.Username, ""); err == nil {
				return nil
			}
			unavail.Add(1)
		case a.Status == http.StatusAccepted:
			pending.Add(1)
		case a.Status >= 500:
			unavail.Add(1)
		case a.Status == http.StatusConflict && a.Code() == string(wallet.EUsernameTaken):
			return fmt.Errorf("account %s is taken by another claim: is -prefix shared with another run?", c.Username)
		default:
			return fmt.Errorf("claim of %s (request ID %s) answered %d %s", c.Username, c.RequestID, a.Status, a.Code())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("claim of %s (request ID %s): %w", c.Username, c.RequestID, errUndecided)
		}
		if !sleep(ctx, backoff) {
			return context.Cause(ctx)
		}
		backoff = min(2*backoff, time.Second)
	}
}
