package run_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/run"
)

// The processor's /readyz says each group is ready once it processes, and
// what is wrong when it does not; a group that keeps failing for longer
// than GiveUpAfter ends the process with the diagnosis instead of
// restarting quietly for ever.
func TestProcessorReadinessAndGivingUp(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := config(t, []string{b.Addr()}, 2)
	c.GiveUpAfter = 10 * time.Second
	addr := make(chan string, 1)
	c.Ready = addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run.Processors(ctx, c) }()
	base := "http://" + <-addr

	r := waitReadiness(t, base, http.StatusOK, time.Minute)
	for _, check := range []string{"processor signup", "processor paymentd", "processor accountant", "processor lag", "processor disk"} {
		if r.Checks[check] != api.Ready {
			t.Errorf("%s: %q, want ready (all: %v)", check, r.Checks[check], r.Checks)
		}
	}

	b.Close()
	r = waitReadiness(t, base, http.StatusServiceUnavailable, time.Minute)
	t.Logf("broker gone: %v", r.Checks)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "without a healthy run") {
			t.Fatalf("processors ended with %v, want the diagnosis of a group failing", err)
		}
		t.Logf("processors gave up: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("processors still running two minutes after the broker went away")
	}
}

// waitReadiness polls base/readyz until it answers code.
func waitReadiness(t *testing.T, base string, code int, timeout time.Duration) api.Readiness {
	t.Helper()
	return waitReadyz(t, base, timeout, func(got int, _ api.Readiness) bool { return got == code })
}

// waitReadyz polls base/readyz until ok is true of its answer.
func waitReadyz(t *testing.T, base string, timeout time.Duration, ok func(code int, r api.Readiness) bool) api.Readiness {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
			var r api.Readiness
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("readyz body %s: %v", body, err)
			}
			if ok(resp.StatusCode, r) {
				return r
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s/readyz did not answer as wanted within %s; last: %s", base, timeout, last)
	return api.Readiness{}
}
