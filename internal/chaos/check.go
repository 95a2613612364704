package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
)

// maxMaybe is the most unconfirmed transfers the check tries every
// combination of (2^maxMaybe combinations).
const maxMaybe = 10

// checkResult is the outcome of the final comparison.
type checkResult struct {
	drained      bool          // every balance became as expected
	took         time.Duration // how long the drain took
	wrong        []accountDiff // accounts whose balance is not the expected one
	lost         int           // wrong accounts explained by one missing instruction
	doubled      int           // wrong accounts explained by one instruction applied twice
	sum          int64         // sum of all balances, in cents
	applied      int           // unconfirmed transfers found applied
	unreadable   error         // the last failure to read balances, if any
	busy         error         // balances matched, but the processors had input left
	tooAmbiguous bool          // too many unconfirmed transfers to verify
}

// accountDiff is one account whose balance differs from the expected one.
type accountDiff struct {
	Account   string `json:"account"`
	Want      string `json:"want"`
	Got       string `json:"got"`
	Diff      string `json:"diff"`
	Verdict   string `json:"verdict"`              // lost, doubled or unexplained
	RequestID string `json:"request_id,omitempty"` // the transfer that explains the difference
}

// drain polls the view until every account has its expected balance,
// allowing any combination of the unconfirmed transfers to be applied,
// the balances stay so for a moment and idle (if set) reports that the
// processors have consumed all their input, so that no late duplicate can
// still change a balance; or until timeout. It then compares.
// Names never signed up (ghost) may be unknown to the view: 0.00.
func drain(ctx context.Context, cl *client, names []string, transfers []*transfer, timeout time.Duration, idle func(context.Context) error, ghost func(int32) bool) checkResult {
	start := time.Now()
	want, maybe := expected(names, transfers)
	r := checkResult{tooAmbiguous: len(maybe) > maxMaybe}
	deadline := start.Add(timeout)
	var got []int64
	for ctx.Err() == nil {
		cur, err := readBalances(ctx, cl, names, ghost)
		if err != nil {
			r.unreadable = err
		} else {
			r.unreadable, got = nil, cur
			if mask, ok := explain(want, got, maybe); ok {
				// Stable for two seconds: nothing more is on its way.
				harness.Sleep(ctx, 2*time.Second)
				again, err := readBalances(ctx, cl, names, ghost)
				if err == nil && slices.Equal(again, got) {
					r.busy = nil
					if idle != nil {
						r.busy = idle(ctx)
					}
					if r.busy == nil {
						r.drained = true
						r.applied = popcount(mask)
						break
					}
				}
			}
		}
		if time.Now().After(deadline) {
			break
		}
		harness.Sleep(ctx, 500*time.Millisecond)
	}
	r.took = time.Since(start)
	if got == nil {
		return r
	}
	for _, b := range got {
		r.sum += b
	}
	if !r.drained && r.busy == nil {
		r.wrong = diagnose(names, transfers, want, got)
		for _, d := range r.wrong {
			switch d.Verdict {
			case "lost":
				r.lost++
			case "doubled":
				r.doubled++
			}
		}
	}
	return r
}

// readBalances reads every account's balance from the view, with a few
// requests in parallel. An account the view does not know is an error,
// unless ghost says it was never signed up: then its balance is 0.
func readBalances(ctx context.Context, cl *client, names []string, ghost func(int32) bool) ([]int64, error) {
	got := make([]int64, len(names))
	var errs []error
	for i, b := range harness.ReadBalances(ctx, cl.api, names, 8, nil) {
		got[i] = b.Cents
		switch {
		case b.Err != nil:
			errs = append(errs, b.Err)
		case !b.Found && !ghost(int32(i)):
			errs = append(errs, fmt.Errorf("account %s not found: not signed up", names[i]))
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err) // some accounts were not read
	}
	return got, errors.Join(errs...)
}

// explain reports whether got equals want plus the effect of some subset
// of maybe, and which (bit i for maybe[i]). With more than maxMaybe
// transfers in maybe it only accepts got == want.
func explain(want, got []int64, maybe []*transfer) (mask uint, ok bool) {
	if len(maybe) > maxMaybe {
		return 0, slices.Equal(want, got)
	}
	touched := map[int32]bool{}
	for _, t := range maybe {
		touched[t.from], touched[t.to] = true, true
	}
	for i := range want {
		if want[i] != got[i] && !touched[int32(i)] {
			return 0, false
		}
	}
	for mask := uint(0); mask < 1<<len(maybe); mask++ {
		delta := map[int32]int64{}
		for i, t := range maybe {
			if mask&(1<<i) != 0 {
				delta[t.from] -= t.cents
				delta[t.to] += t.cents
			}
		}
		match := true
		for a := range touched {
			if got[a] != want[a]+delta[a] {
				match = false
				break
			}
		}
		if match {
			return mask, true
		}
	}
	return 0, false
}

func popcount(m uint) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// diagnose explains each wrong account by one instruction if it can: lost
// when the difference is one of its instructions missing, doubled when it is
// one of its instructions applied a second time.
func diagnose(names []string, transfers []*transfer, want, got []int64) []accountDiff {
	wrong := map[int32]*accountDiff{}
	var order []int32
	for i := range want {
		if want[i] != got[i] {
			d := got[i] - want[i]
			wrong[int32(i)] = &accountDiff{Account: names[i], Want: wallet.Cents(want[i]).String(), Got: wallet.Cents(got[i]).String(), Diff: wallet.Cents(d).String(), Verdict: "unexplained"}
			order = append(order, int32(i))
		}
	}
	for _, t := range transfers {
		if !t.final() || t.status != wallet.Completed {
			continue
		}
		for _, side := range []struct {
			account int32
			effect  int64
		}{{t.from, -t.cents}, {t.to, t.cents}} {
			d, ok := wrong[side.account]
			if !ok || d.Verdict != "unexplained" {
				continue
			}
			diff := got[side.account] - want[side.account]
			switch diff {
			case -side.effect:
				d.Verdict, d.RequestID = "lost", t.id.String()
			case side.effect:
				d.Verdict, d.RequestID = "doubled", t.id.String()
			}
		}
	}
	out := make([]accountDiff, 0, len(order))
	for _, a := range order {
		out = append(out, *wrong[a])
	}
	return out
}

// reportWrong logs the first wrong accounts and writes all of them to
// path.
func reportWrong(wrong []accountDiff, path string) {
	var b strings.Builder
	for i, d := range wrong {
		line := fmt.Sprintf("%s want %s got %s diff %s: %s %s", d.Account, d.Want, d.Got, d.Diff, d.Verdict, d.RequestID)
		b.WriteString(line + "\n")
		if i < 20 {
			slog.Error("wrong balance", "account", d.Account, "want", d.Want, "got", d.Got, "diff", d.Diff, "verdict", d.Verdict, "request_id", d.RequestID)
		}
	}
	if len(wrong) > 0 {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			slog.Error("write wrong accounts", "path", path, "error", err)
		}
	}
}
