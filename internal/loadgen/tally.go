package loadgen

import (
	"context"
	"maps"
	"net/http"
	"time"

	"github.com/wallet/wallet/api"
)

// tally counts the POSTs of one goroutine; tallies are merged when the
// goroutines are done, so that sending takes no lock.
type tally struct {
	latencies []int64 // of every POST, in nanoseconds
	errors    map[string]int
	posts     int64
	created   int64 // 201 answers
}

func newTally(capacity int) *tally {
	return &tally{latencies: make([]int64, 0, capacity), errors: map[string]int{}}
}

// send posts tr until it is answered 201, re-posting the same body after
// an ambiguous answer (503, 5xx, no answer) at most retries times, as the
// API asks. ok is whether it was accepted; ambiguous whether, if not, it
// may have been stored anyway.
func (t *tally) send(ctx context.Context, cl *api.Client, tr transfer, retries int, prog *progress) (ok, ambiguous bool) {
	_, ok, ambiguous = t.sendExpecting(ctx, cl, tr, retries, prog, "")
	return ok, ambiguous
}

// sendExpecting is send for a transfer that may be refused on purpose: an
// answer whose key is expect ("404 account_not_found") ends it without
// counting as an error, and is returned.
func (t *tally) sendExpecting(ctx context.Context, cl *api.Client, tr transfer, retries int, prog *progress, expect string) (a answer, ok, ambiguous bool) {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		start := time.Now()
		a = post(ctx, cl, tr)
		t.latencies = append(t.latencies, int64(time.Since(start)))
		t.posts++
		if a.status == http.StatusCreated {
			t.created++
			return a, true, false
		}
		if ctx.Err() != nil {
			return a, false, true
		}
		if expect != "" && a.key() == expect {
			return a, false, false
		}
		t.errors[a.key()]++
		prog.errors.Add(1)
		if !a.ambiguous() || attempt >= retries {
			return a, false, a.ambiguous()
		}
		if !sleep(ctx, backoff) {
			return a, false, true
		}
		backoff *= 2
	}
}

// merge adds o into t.
func (t *tally) merge(o *tally) {
	t.latencies = append(t.latencies, o.latencies...)
	for k, v := range o.errors {
		t.errors[k] += v
	}
	t.posts += o.posts
	t.created += o.created
}

func (t *tally) errorCounts() map[string]int { return maps.Clone(t.errors) }

// sleep waits d or until ctx is done; false if ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
