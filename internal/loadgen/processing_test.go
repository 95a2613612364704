package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// A small processing-only run: every preloaded transfer gets exactly one
// outcome, and the report's counts add up to -n.
func TestProcessingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and the processors")
	}
	const n = 300
	cfg, err := parseFlags([]string{"-processing", "-n", "300", "-accounts", "20", "-hot-share", "50",
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
	if r.N != n || r.Completed+r.Rejected != n || outcomes != n || r.DeadLetters != 0 {
		t.Errorf("counts do not add up to %d: %s", n, out.String())
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
	for _, bad := range [][]string{{"-processing", "-embedded"}, {"-processing", "-probe"}, {"-processing", "-bound"}, {"-processing", "-rate", "10"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
