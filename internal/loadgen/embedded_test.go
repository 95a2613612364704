package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// A small run against the in-process wallet: the senders are funded,
// everything accepted is applied, overdraft attempts are rejected,
// transfers to unknown names refused, conflicting re-uses answered 409 (or
// 201, moving nothing), withdrawals completed; the probes are measured,
// and the bound is taken.
func TestEmbeddedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole wallet")
	}
	cfg, err := parseFlags([]string{"-embedded", "-n", "400", "-concurrency", "8", "-accounts", "50",
		"-repost", "10", "-hot-share", "20",
		"-overdraft", "5", "-unknown", "5", "-withdraw", "5", "-conflict", "5", "-probe-every", "20", "-bound-n", "2000", "-quiet", "-json",
		"-data", t.TempDir(), "-drain-timeout", "1m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runLoadgen(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	sp := r.Special
	if !r.Drained || r.Accepted+r.Reposts+sp.Conflicts+sp.UnknownRefused != 400 || r.Accepted < 300 || len(r.Errors) != 0 {
		t.Errorf("report: %s", out.String())
	}
	if r.Deposits < 40 || r.Deposited == "" {
		t.Errorf("funding: %s", out.String())
	}
	// About 20 of each special share; none may be missing.
	if sp.Overdrafts == 0 || sp.UnknownRefused+sp.UnknownStored == 0 || sp.Withdrawals == 0 || sp.Conflicts == 0 || sp.Conflicts409+sp.Conflicts201 != sp.Conflicts {
		t.Errorf("special shares: %+v", sp)
	}
	if len(r.OutcomeViolations) != 0 || r.Outcomes["rejected insufficient_funds"] != int(sp.Overdrafts) ||
		r.Outcomes["rejected account_not_found"] != int(sp.UnknownStored) || r.Outcomes["completed"] < int(sp.Withdrawals) {
		t.Errorf("outcomes %v, violations %q, special %+v", r.Outcomes, r.OutcomeViolations, sp)
	}
	// Every account of the load, the merchant and the two probe accounts:
	// 53 unless some account was drawn by no transfer.
	if r.Signups < 40 || r.Signups > 53 || r.Signups < r.Checked || r.SignupPosts < int64(r.Signups) {
		t.Errorf("signups: %s", out.String())
	}
	if r.ApplyLatency.Count == 0 || r.PostLatency.Count < 400 || r.Bound == nil || r.Bound.BoundPerS <= 0 {
		t.Errorf("missing figures: %s", out.String())
	}
}
