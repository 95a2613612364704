package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// A seed gives the same request IDs, valid version 4 UUIDs.
func TestRandomUUID(t *testing.T) {
	a, b := rand.New(rand.NewPCG(1, 1)), rand.New(rand.NewPCG(1, 1))
	for range 100 {
		u := harness.RandomUUID(a)
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("RandomUUID = %s: version %d variant %s", u, u.Version(), u.Variant())
		}
		if v := harness.RandomUUID(b); v != u {
			t.Fatalf("the same seed drew %s, then %s", u, v)
		}
	}
}

func TestForEach(t *testing.T) {
	var calls [100]atomic.Int32
	var running, most atomic.Int32
	harness.ForEach(context.Background(), len(calls), 3, func(i int) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		calls[i].Add(1)
		running.Add(-1)
	})
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("fn(%d) called %d times, want 1", i, n)
		}
	}
	if m := most.Load(); m > 3 {
		t.Errorf("%d calls at once, want at most 3", m)
	}

	// Once ctx is done, only a call already handed out may start: at most
	// one per other worker.
	ctx, cancel := context.WithCancel(context.Background())
	var n, late atomic.Int32
	var canceled atomic.Bool
	harness.ForEach(ctx, 1000, 2, func(int) {
		if canceled.Load() {
			late.Add(1)
		}
		if n.Add(1) == 10 {
			cancel()
			canceled.Store(true)
		}
	})
	if n.Load() == 1000 || late.Load() > 1 {
		t.Errorf("%d calls, %d after ctx was done; want fewer than all, at most 1 late", n.Load(), late.Load())
	}
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	tries := 0
	err := harness.Poll(ctx, time.Minute, time.Millisecond, func(context.Context) error {
		if tries++; tries < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Errorf("Poll = %v after %d tries, want nil after 3", err, tries)
	}
	notYet := errors.New("not yet")
	err = harness.Poll(ctx, 10*time.Millisecond, time.Millisecond, func(context.Context) error { return notYet })
	if !errors.Is(err, notYet) || !strings.Contains(err.Error(), "not within 10ms") {
		t.Errorf("Poll past its timeout = %v, want the last error and the timeout", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := harness.Poll(ctx, 0, time.Millisecond, func(context.Context) error { return notYet }); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with ctx done = %v, want context.Canceled", err)
	}
}

func TestProblems(t *testing.T) {
	var p harness.Problems
	p.Check(true, "fine")
	if p.Err() != nil {
		t.Fatalf("Err = %v with no problem", p.Err())
	}
	p.Check(false, "-n must be positive, got %d", -1)
	p.Check(false, "-rate must not be negative")
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "-n must be positive, got -1") || !strings.Contains(err.Error(), "-rate") {
		t.Errorf("Err = %v, want both problems", err)
	}
}

func TestCounts(t *testing.T) {
	var c harness.Counts
	for _, a := range []api.Answer{{Status: 201}, {Status: 202}, {Status: 503}, {Status: 502}, {Status: 409}} {
		c.Count(a, nil, time.Millisecond)
	}
	c.Count(api.Answer{}, errors.New("connection refused"), time.Millisecond)
	if c.Posts.Load() != 6 || c.Pending.Load() != 1 || c.Unavailable.Load() != 2 || c.ConnErrors.Load() != 1 {
		t.Errorf("posts %d, 202s %d, 5xx %d, no answer %d; want 6 1 2 1", c.Posts.Load(), c.Pending.Load(), c.Unavailable.Load(), c.ConnErrors.Load())
	}
	if got := harness.AnswerKey(api.Answer{Status: 503, Body: []byte(`{"code":"unavailable"}`)}, nil); got != "503 unavailable" {
		t.Errorf("AnswerKey = %q", got)
	}
}

// The outcomes are read until every awaited transfer is final; one that
// the view never knows is read but not waited for.
func TestReadOutcomes(t *testing.T) {
	pending, unknown := uuid.New(), uuid.New()
	var mu sync.Mutex
	reads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, pending.String()) {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		reads++
		status := wallet.Pending
		if reads >= 3 {
			status = wallet.Completed
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(api.TransferResponse{Transfer: wallet.Transfer{RequestID: pending}, Status: status})
	}))
	defer srv.Close()
	ids := []uuid.UUID{pending, unknown}
	got := make([]harness.Outcome, len(ids))
	awaited := func(i int) bool { return ids[i] == pending }
	r := harness.ReadOutcomes(context.Background(), api.NewClient(srv.URL), ids, got, 2, time.Now().Add(time.Minute), time.Millisecond, awaited)
	if !got[0].Final() || got[0].Status != wallet.Completed || got[1].Found || r.Passes != 3 || r.Gets != 6 || r.Failed != 0 {
		t.Errorf("got %+v after %+v; want the first completed and the second not found, after 3 passes", got, r)
	}
}
