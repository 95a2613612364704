package loadgen

import (
	"context"
	"maps"
	"net/http"
	"time"

	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// tally counts the POSTs of one goroutine; tallies are merged when the
// goroutines are done, so that sending takes no lock.
type tally struct {
	latencies []int64 // of every POST, in nanoseconds
	errors    map[string]int
	posts     int64
	created   int64     // 201 answers
	prog      *progress // counts the error answers as they come; nil for none
}

func newTally(capacity int, prog *progress) *tally {
	return &tally{latencies: make([]int64, 0, capacity), errors: map[string]int{}, prog: prog}
}

// client returns cl posting as the tally's goroutine does: a transfer
// answered ambiguously (503, 5xx, no answer) is posted again with the
// same body at most retries times, as the API asks, and every POST is
// counted in t.
func (t *tally) client(cl *api.Client, retries int) *api.Client {
	return cl.WithRetry(&api.Retry{Posts: retries + 1, OnAnswer: t.count})
}

// count is the OnAnswer of the tally's client: every POST and its
// latency, every 201, and every ambiguous answer, posted again, as an
// error. Whether the answer that ends the retries otherwise is an error
// only send knows.
func (t *tally) count(a api.Answer, err error, took time.Duration) {
	t.latencies = append(t.latencies, int64(took))
	t.posts++
	switch {
	case err == nil && a.Status == http.StatusCreated:
		t.created++
	case ambiguous(a, err):
		t.countError(harness.AnswerKey(a, err))
	}
}

func (t *tally) countError(key string) {
	t.errors[key]++
	if t.prog != nil {
		t.prog.errors.Add(1)
	}
}

// ambiguous reports whether the transfer may or may not have been
// stored: the API says to post those again with the same body.
func ambiguous(a api.Answer, err error) bool {
	return err != nil || a.Status >= 500
}

// send posts tr with cl, a client of t (t.client), until it is answered
// 201 or the retries end. ok is whether it was accepted; maybe whether,
// if not, it may have been stored anyway. An answer whose key is expect
// ("404 account_not_found"), for a transfer refused on purpose, ends it
// without counting as an error. a is the last answer.
func (t *tally) send(ctx context.Context, cl *api.Client, tr transfer, expect string) (a api.Answer, ok, maybe bool) {
	a, err := post(ctx, cl, tr)
	switch {
	case err == nil && a.Status == http.StatusCreated:
		return a, true, false
	case ctx.Err() != nil, ambiguous(a, err): // counted by count
		return a, false, true
	case harness.AnswerKey(a, nil) == expect:
		return a, false, false
	}
	t.countError(harness.AnswerKey(a, nil))
	return a, false, false
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
