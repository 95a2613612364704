package harness

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet/api"
)

// Balance is an account's balance as the view shows it.
type Balance struct {
	Cents int64
	Found bool  // false: the view does not know the account (404)
	Err   error // the read failed: Cents and Found say nothing
}

// ReadBalance reads the account's balance from the view: what every
// check of a harness compares with the balance it expects.
func ReadBalance(ctx context.Context, cl *api.Client, account string) Balance {
	acct, found, err := cl.Account(ctx, account)
	return Balance{Cents: acct.Balance.Cents(), Found: found, Err: err}
}

// ReadBalances reads the balance of every account of names, conc at a
// time, by index; read, if set, is called after each read (from conc
// goroutines at once), so that a progress bar moves during a pass over a
// million accounts.
func ReadBalances(ctx context.Context, cl *api.Client, names []string, conc int, read func(i int, b Balance)) []Balance {
	got := make([]Balance, len(names))
	ForEach(ctx, len(names), conc, func(i int) {
		got[i] = ReadBalance(ctx, cl, names[i])
		if read != nil {
			read(i, got[i])
		}
	})
	return got
}

// Outcome is what GET /api/v1/transfers/{id} showed of a transfer.
type Outcome struct {
	Found bool // false: the view does not know the request ID (404)
	api.TransferResponse
}

// Final reports whether the outcome was read and is final.
func (o Outcome) Final() bool { return o.Found && o.Status.Final() }

// OutcomeReads is what reading outcomes took.
type OutcomeReads struct {
	Gets   int64 // GETs sent
	Failed int64 // GETs answered neither 200 nor 404, or not at all
	Passes int
	Took   time.Duration
}

// ReadOutcomes reads the outcome of every transfer ids[i] into got[i]
// with GET /api/v1/transfers/{id}, conc at a time, in passes over those
// not final yet, until every one that awaited(i) (nil: every one) is
// final or the deadline passes: a transfer Kafka acknowledged is decided
// in a moment, while one whose POST was never answered may never have
// been stored, and is read but not waited for. After each pass it waits
// as long as the pass took, and at least pause, leaving the system at
// least half the time. A failed GET leaves got[i] as it was; the first
// few are logged. It returns early when ctx is done.
func ReadOutcomes(ctx context.Context, cl *api.Client, ids []uuid.UUID, got []Outcome, conc int, deadline time.Time, pause time.Duration, awaited func(i int) bool) OutcomeReads {
	start := time.Now()
	var r OutcomeReads
	var pending []int
	for i := range ids {
		if !got[i].Final() {
			pending = append(pending, i)
		}
	}
	var gets, failed atomic.Int64
	for ctx.Err() == nil && len(pending) > 0 {
		r.Passes++
		began := time.Now()
		ForEach(ctx, len(pending), conc, func(k int) {
			i := pending[k]
			gets.Add(1)
			t, found, err := cl.Transfer(ctx, ids[i])
			if err != nil {
				if failed.Add(1) <= 5 {
					slog.Warn("GET transfer failed", "request_id", ids[i], "error", err)
				}
				return
			}
			got[i] = Outcome{Found: found, TransferResponse: t}
		})
		var next []int
		waiting := 0
		for _, i := range pending {
			if !got[i].Final() {
				next = append(next, i)
				if awaited == nil || awaited(i) {
					waiting++
				}
			}
		}
		pending = next
		if waiting == 0 || time.Now().After(deadline) {
			break
		}
		slog.Info("waiting for outcomes", "not final", waiting, "pass", r.Passes, "took", time.Since(began).Round(time.Millisecond),
			"failed GETs", failed.Load())
		Sleep(ctx, max(pause, time.Since(began)))
	}
	r.Gets, r.Failed, r.Took = gets.Load(), failed.Load(), time.Since(start)
	return r
}
