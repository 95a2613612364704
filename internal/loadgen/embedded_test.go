package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// A small run against the in-process wallet: everything accepted is
// applied, the probes are measured, and the bound is taken.
func TestEmbeddedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole wallet")
	}
	cfg, err := parseFlags([]string{"-embedded", "-n", "400", "-concurrency", "8", "-accounts", "50",
		"-repost", "10", "-hot-share", "20", "-probe-every", "20", "-bound-n", "2000", "-quiet", "-json",
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
	if !r.Drained || r.Accepted+r.Reposts != 400 || r.Accepted < 300 || len(r.Errors) != 0 {
		t.Errorf("report: %s", out.String())
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
