package loadgen

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// check is a transfer whose outcome is read with GET
// /api/v1/transfers/{id} after the load, and the outcome it must have.
type check struct {
	t        transfer
	want     wallet.Status
	reason   string
	conflict bool // its request ID was re-used for another amount

	found bool
	got   api.TransferResponse
}

// outcomeResult is what reading the outcomes found.
type outcomeResult struct {
	counts     map[string]int // by "completed", "rejected insufficient_funds", ...
	read       int            // transfers read
	gets       int64
	violations []string
}

// readOutcomes reads the outcome of every check, conc at a time, in passes
// over those not final yet, until all are final or the deadline; then
// compares each with what it must be.
func readOutcomes(ctx context.Context, cl *api.Client, checks []check, conc int, deadline time.Time) (outcomeResult, error) {
	var r outcomeResult
	checks = dedupe(checks)
	ids, got := make([]uuid.UUID, len(checks)), make([]harness.Outcome, len(checks))
	for i, c := range checks {
		var err error
		if ids[i], err = uuid.Parse(c.t.id); err != nil {
			return r, fmt.Errorf("check of %s: %w", c.t.id, err)
		}
	}
	reads := harness.ReadOutcomes(ctx, cl, ids, got, conc, deadline, 100*time.Millisecond, nil)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	for i := range checks {
		checks[i].found, checks[i].got = got[i].Found, got[i].TransferResponse
	}
	r.gets, r.read, r.counts = reads.Gets, len(checks), map[string]int{}
	for i := range checks {
		c := &checks[i]
		got := strings.TrimSpace(string(c.got.Status) + " " + c.got.Reason)
		want := strings.TrimSpace(string(c.want) + " " + c.reason)
		what := fmt.Sprintf("%s %s -> %s %s", c.t.id, c.t.from, c.t.to, wallet.Cents(c.t.cents))
		switch {
		case !c.found:
			r.violations = append(r.violations, what+": not found")
			continue
		case !c.got.Status.Final():
			r.violations = append(r.violations, what+": still "+got)
			continue
		}
		r.counts[got]++
		if got != want {
			r.violations = append(r.violations, fmt.Sprintf("%s: %s, want %s", what, got, want))
		}
		if !c.got.Amount.Equal(wallet.Cents(c.t.cents)) || c.got.From != c.t.from || c.got.To != c.t.to {
			kind := "shown"
			if c.conflict {
				kind = "request ID re-used for another amount; shown"
			}
			r.violations = append(r.violations, fmt.Sprintf("%s: %s as %s -> %s %s", what, kind, c.got.From, c.got.To, c.got.Amount))
		}
	}
	return r, nil
}

// dedupe keeps one check per request ID: a transfer sampled and re-used,
// or re-used twice, is read once.
func dedupe(checks []check) []check {
	at := make(map[string]int, len(checks))
	out := checks[:0:0]
	for _, c := range checks {
		if i, ok := at[c.t.id]; ok {
			out[i].conflict = out[i].conflict || c.conflict
			continue
		}
		at[c.t.id] = len(out)
		out = append(out, c)
	}
	return out
}
