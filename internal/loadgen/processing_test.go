package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// A small processing-only run: every distinct preloaded transfer gets
// exactly one outcome, the model's, re-posts none, and the report's counts
// add up.
func TestProcessingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and the processors")
	}
	const n = 300
	cfg, err := parseFlags([]string{"-processing", "-n", "300", "-accounts", "20", "-hot-share", "50",
		"-repost", "5", "-overdraft", "5", "-unknown", "5", "-withdraw", "5",
		"-json", "-quiet", "-data", t.TempDir(), "-drain-timeout", "1m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runProcessing(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	var r processingReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	var outcomes int64
	for _, c := range r.Outcomes {
		outcomes += c
	}
	m := r.Mix
	if r.N != n || m.Distinct+m.Reposts != n || r.Completed+r.Rejected != int64(m.Distinct) || outcomes != int64(m.Distinct) || r.DeadLetters != 0 {
		t.Errorf("counts do not add up to %d: %s", n, out.String())
	}
	if m.Reposts == 0 || m.Overdrafts == 0 || m.Withdrawals == 0 || r.Rejected == 0 {
		t.Errorf("no re-posts, overdrafts, withdrawals or rejections: %s", out.String())
	}
	if c := r.Check; c.Violations != 0 || c.Outcomes != m.Distinct || c.Statuses != m.Distinct+r.SignedUp {
		t.Errorf("check: %+v", c)
	}
	if r.SignedUp != 21 || r.PerS <= 0 || r.CPUMicrosPerTransfer <= 0 || len(r.Changelogs) != 2 {
		t.Errorf("missing figures: %s", out.String())
	}
}

func TestParseFlagsProcessing(t *testing.T) {
	c, err := parseFlags([]string{"-processing", "-n", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.bound || newScenario(c).Mode != "processing" {
		t.Errorf("-processing: %+v", c)
	}
	if c.repost != 2 || c.conflict != 0 || c.overdraft == 0 || c.unknown == 0 || c.withdraw == 0 {
		t.Errorf("-processing's shares: repost %d conflict %d overdraft %d unknown %d withdraw %d", c.repost, c.conflict, c.overdraft, c.unknown, c.withdraw)
	}
	for _, bad := range [][]string{{"-processing", "-embedded"}, {"-processing", "-probe"}, {"-processing", "-bound"}, {"-processing", "-rate", "10"},
		{"-processing", "-conflict", "1"}, {"-processing", "-streams", "run.sh"}, {"-streams", "run.sh", "-brokers", "127.0.0.1:1"},
		{"-processing", "-brokers", "127.0.0.1:1", "-streams", "run.sh", "-guarantee", "exactly_once"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
