package loadgen

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
)

// checkResult is what comparing a processing run with its model found.
type checkResult struct {
	Outcomes int `json:"outcomes"` // request IDs of the timed phase whose outcome was read
	Statuses int `json:"statuses"` // transfers in the system's table, deposits included
	Balances int `json:"balances"` // accounts in the system's table, World included
	// Violations counts the disagreements; Examples names the first few.
	Violations int      `json:"violations"`
	Examples   []string `json:"examples,omitempty"`
}

// maxExamples is how many disagreements a report names.
const maxExamples = 10

func (c *checkResult) fail(format string, args ...any) {
	c.Violations++
	if len(c.Examples) < maxExamples {
		c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
	}
}

// check compares what the system decided with the model, the same way
// for every system:
//   - the outcomes written to the transfer log in the timed phase (got, by
//     request ID): exactly one for every request ID, the model's, so a
//     re-post produced none;
//   - every transfer's final status in the system's transfer table
//     (deposits included), the last value of each key in its changelog;
//   - every account's final balance in the system's account table, World
//     included, open if it was signed up and neither open nor holding
//     anything if it never was; and all of them summing to 0.00.
func (r *processingReport) check(ctx context.Context, w *lagWatcher, tb tables, m model, got map[string][]string) error {
	c := &r.Check
	for _, id := range m.requests {
		outs, want := got[id], m.outcomes[id]
		switch {
		case len(outs) == 0:
			c.fail("request %s: no outcome, want %s", id, want)
		case len(outs) > 1:
			c.fail("request %s: %d outcomes %q, want one, %s", id, len(outs), outs, want)
		case outs[0] != want:
			c.fail("request %s: %s, want %s", id, outs[0], want)
		}
		delete(got, id)
	}
	c.Outcomes = len(m.requests)
	for _, id := range slices.Sorted(maps.Keys(got)) {
		c.fail("request %s: outcome %q for no request of the timed phase", id, got[id])
	}

	statuses, err := lastValues(ctx, w, tb.transfers)
	if err != nil {
		return err
	}
	c.Statuses = len(statuses)
	for id, want := range m.outcomes {
		v, ok := statuses[id]
		if !ok {
			c.fail("transfer %s: not in %s, want %s", id, tb.transfers, want)
			continue
		}
		status, err := tb.transfer(id, v)
		if err != nil {
			c.fail("transfer %s: %v", id, err)
		} else if status != want {
			c.fail("transfer %s: %s in %s, want %s", id, status, tb.transfers, want)
		}
		delete(statuses, id)
	}
	for _, id := range slices.Sorted(maps.Keys(statuses)) {
		c.fail("transfer %s: in %s, and the model has no such request", id, tb.transfers)
	}

	accounts, err := lastValues(ctx, w, tb.accounts)
	if err != nil {
		return err
	}
	c.Balances = len(accounts)
	var sum int64
	for _, key := range slices.Sorted(maps.Keys(accounts)) {
		cents, open, err := tb.account(accounts[key])
		if err != nil {
			c.fail("account %s: %v", key, err)
			continue
		}
		sum += cents
		want, known := m.balances[key]
		switch {
		case m.closed[key] && (open || cents != 0):
			c.fail("account %s was never signed up, and is open %t with %s", key, open, wallet.Cents(cents))
		case m.closed[key]:
		case !known:
			c.fail("account %s: in %s, and the model has no such account", key, tb.accounts)
		case cents != want:
			c.fail("account %s: balance %s, want %s", key, wallet.Cents(cents), wallet.Cents(want))
		case !open && key != wallet.World:
			c.fail("account %s: not open", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(m.balances)) {
		if _, ok := accounts[key]; !ok {
			c.fail("account %s: not in %s, want balance %s", key, tb.accounts, wallet.Cents(m.balances[key]))
		}
	}
	if sum != 0 {
		c.fail("the balances sum to %s, not 0.00", wallet.Cents(sum))
	}
	return nil
}

// lastValues reads a table's changelog from its start to its committed
// end and returns the last value of every key: the table as it stands.
func lastValues(ctx context.Context, w *lagWatcher, topic string) (map[string][]byte, error) {
	to, err := w.ends(topic)
	if err != nil {
		return nil, err
	}
	from := offsets{}
	for p := range to {
		from[p] = 0
	}
	last := map[string][]byte{}
	err = scan(ctx, w.kc, topic, from, to, func(rec *kgo.Record) {
		last[string(rec.Key)] = rec.Value
	})
	return last, err
}
