package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// drainResult says when the view showed every expected balance.
type drainResult struct {
	done     time.Time // when the last account was seen right; zero if never
	accounts int       // accounts checked
	gets     int64     // GETs it took
	passes   int
	pending  []mismatch // accounts still wrong at the deadline (a sample)
	left     int        // how many were still wrong
}

type mismatch struct {
	account string
	want    int64
	got     string // the balance seen, or the error
}

// drain polls the view for every expected balance, in passes over the
// accounts not yet right, until all are right or the deadline. An account
// once right stays right: the ledger is final before the drain starts.
// Passes are paced to leave the system at least half the time.
func drain(ctx context.Context, cl *api.Client, want []ledger.Expectation, conc int, deadline time.Time, prog *progress) (drainResult, error) {
	res := drainResult{accounts: len(want)}
	prog.startPhase(phaseDrain, int64(len(want)))
	prog.start()
	defer prog.finish()
	pending := want
	var last []string
	for {
		res.passes++
		began := time.Now()
		wrong, seen := checkAll(ctx, cl, pending, conc, &res.gets, prog)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var next []ledger.Expectation
		last = last[:0]
		for i, e := range pending {
			if wrong[i] {
				next = append(next, e)
				last = append(last, seen[i])
			}
		}
		pending = next
		if len(pending) == 0 {
			res.done = time.Now()
			return res, nil
		}
		if time.Now().After(deadline) {
			res.left = len(pending)
			for i := range min(len(pending), 10) {
				res.pending = append(res.pending, mismatch{pending[i].Account, pending[i].Cents, last[i]})
			}
			return res, nil
		}
		if !harness.Sleep(ctx, max(50*time.Millisecond, time.Since(began))) {
			return res, ctx.Err()
		}
	}
}

// checkAll reads every account of want with conc GETs at a time and
// reports which are not (yet) as expected, and what was seen.
func checkAll(ctx context.Context, cl *api.Client, want []ledger.Expectation, conc int, gets *int64, prog *progress) (wrong []bool, seen []string) {
	names := make([]string, len(want))
	for i, e := range want {
		names[i] = e.Account
	}
	right := func(i int, b harness.Balance) bool { return b.Err == nil && b.Found && b.Cents == want[i].Cents }
	got := harness.ReadBalances(ctx, cl, names, conc, func(i int, b harness.Balance) {
		if right(i, b) {
			prog.done.Add(1)
		}
	})
	*gets += int64(len(want))
	wrong, seen = make([]bool, len(want)), make([]string, len(want))
	for i, b := range got {
		switch {
		case right(i, b):
		case b.Err != nil:
			wrong[i], seen[i] = true, fmt.Sprintf("error: %v", b.Err)
		case !b.Found:
			wrong[i], seen[i] = true, "not found"
		default:
			wrong[i], seen[i] = true, wallet.Cents(b.Cents).String()
		}
	}
	return wrong, seen
}
