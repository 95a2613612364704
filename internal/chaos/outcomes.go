package chaos

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

// outcomeConc is how many GET /api/v1/transfers/{id} the outcome check
// sends at once: about 1,000,000 transfers in a few minutes on 2 cores.
const outcomeConc = 32

// outcomeResult is what the outcome check found.
type outcomeResult struct {
	counts      map[string]int // final outcomes by "completed", "rejected <reason>"
	lost        []*transfer    // accepted, but not found or not final at the deadline
	unconfirmed [2]int         // unconfirmed transfers shown by GET: [0] completed, [1] rejected
	gets        int64
	passes      int
	took        time.Duration
	violations  []string
}

// readOutcomes reads the outcome of every transfer sent with GET
// /api/v1/transfers/{id}, in passes over those not final yet, until every
// accepted one is final or the timeout. Unconfirmed transfers are read
// in every pass but not waited for: Kafka may never have stored them.
func readOutcomes(ctx context.Context, cl *client, transfers []*transfer, timeout time.Duration) outcomeResult {
	var pending []*transfer
	for _, t := range transfers {
		if (t.sent || t.outcome == accepted) && !t.final() {
			pending = append(pending, t)
		}
	}
	ids, got := make([]uuid.UUID, len(pending)), make([]harness.Outcome, len(pending))
	for i, t := range pending {
		ids[i] = t.id
		got[i] = harness.Outcome{Found: t.found, TransferResponse: api.TransferResponse{Transfer: t.shown, Status: t.status, Reason: t.reason}}
	}
	awaited := func(i int) bool { return pending[i].outcome == accepted }
	reads := harness.ReadOutcomes(ctx, cl.api, ids, got, outcomeConc, time.Now().Add(timeout), 500*time.Millisecond, awaited)
	for i, t := range pending {
		t.found, t.shown, t.status, t.reason = got[i].Found, got[i].Transfer, got[i].Status, got[i].Reason
	}
	r := outcomeResult{gets: reads.Gets, passes: reads.Passes, took: reads.Took}
	return r.tally(transfers)
}

// tally counts the outcomes and checks each against what was sent: the
// body shown is the one posted first, deposits complete, and nothing sent
// to a name never signed up completes.
func (r outcomeResult) tally(transfers []*transfer) outcomeResult {
	r.counts = map[string]int{}
	for _, t := range transfers {
		if !t.sent && t.outcome != accepted {
			continue
		}
		if !t.final() {
			if t.outcome == accepted {
				r.lost = append(r.lost, t)
			}
			continue
		}
		r.counts[strings.TrimSpace(string(t.status)+" "+t.reason)]++
		if t.outcome != accepted {
			if t.status == wallet.Completed {
				r.unconfirmed[0]++
			} else {
				r.unconfirmed[1]++
			}
		}
	}
	return r
}

// check adds a violation for every transfer whose outcome breaks a rule.
func (r *outcomeResult) check(names []string, transfers []*transfer, ghost func(int32) bool) {
	bad := func(t *transfer, format string, args ...any) {
		r.violations = append(r.violations, fmt.Sprintf("%s %s %s -> %s %s: ", t.kind, t.id, names[t.from], names[t.to], wallet.Cents(t.cents))+fmt.Sprintf(format, args...))
	}
	for _, t := range transfers {
		if !t.final() {
			continue
		}
		want := wallet.Transfer{RequestID: t.id, From: names[t.from], To: names[t.to], Amount: wallet.Cents(t.cents)}
		if t.shown.RequestID != want.RequestID || t.shown.From != want.From || t.shown.To != want.To || !t.shown.Amount.Equal(want.Amount) {
			bad(t, "shown as %s %s -> %s %s, not as first posted", t.shown.RequestID, t.shown.From, t.shown.To, t.shown.Amount)
		}
		switch {
		case t.status == wallet.Rejected && t.reason != wallet.ReasonInsufficientFunds && t.reason != wallet.ReasonAccountNotFound:
			bad(t, "rejected with reason %q", t.reason)
		case t.kind == deposit && t.status != wallet.Completed:
			bad(t, "a deposit to an open account ended %s %s", t.status, t.reason)
		case ghost(t.to) && t.status == wallet.Completed:
			bad(t, "completed: money reached a name never signed up")
		case ghost(t.to) && t.reason == wallet.ReasonInsufficientFunds:
		case ghost(t.to) && t.reason != wallet.ReasonAccountNotFound:
			bad(t, "rejected %s, want account_not_found", t.reason)
		}
	}
}

// checkConflicts adds a violation for every conflicting re-use of a
// request ID that was answered otherwise than 409 or 201, or whose
// request ID shows its amount instead of the first one's.
func (r *outcomeResult) checkConflicts(cs []*conflict) (answered409, answered201 int) {
	for _, c := range cs {
		switch c.code {
		case 409:
			answered409++
		case 201:
			answered201++
		case 0: // no answer before the deadline: it may be in the log, and must not count either
		default:
			r.violations = append(r.violations, fmt.Sprintf("conflicting re-use of %s answered %d", c.orig.id, c.code))
		}
		if c.orig.final() && c.orig.shown.Amount.Equal(wallet.Cents(c.cents)) {
			r.violations = append(r.violations, fmt.Sprintf("request %s shows the amount %s of a conflicting re-use, not the first one's %s",
				c.orig.id, wallet.Cents(c.cents), wallet.Cents(c.orig.cents)))
		}
	}
	return answered409, answered201
}
