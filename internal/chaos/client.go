package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/topology"
)

// client talks to the wallet's HTTP APIs and counts what it saw.
type client struct {
	// api posts transfers, deposits and withdrawals, again after a 503,
	// another 5xx or no answer, with the same request ID, for up to
	// -transfer-timeout; conflicts posts conflicting re-uses of request
	// IDs in the same way. Both count their POSTs in counts.
	api, conflicts *api.Client
	counts         harness.Counts

	kafka         *kgo.Client  // writes transfers straight to wallet.transfer_request
	produced      atomic.Int64 // records produced
	produceErrors atomic.Int64 // records Kafka did not acknowledge

	mu     sync.Mutex
	errors map[string]int // unexpected answers by "status code", e.g. "400 amount_invalid"
}

func newClient(emitter, view, broker, operator string, conns int, wait time.Duration) (*client, error) {
	opts, err := kafkaOpts(broker)
	if err != nil {
		return nil, err
	}
	kc, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", broker, err)
	}
	// Enough kept-alive connections for the workers and the outcome
	// check's GETs; a timeout above the emitter's 5 s wait for Kafka,
	// which then answers 503.
	base := harness.NewClient(emitter, view, operator, max(2*conns, conns+outcomeConc), 10*time.Second)
	c := &client{kafka: kc, errors: map[string]int{}}
	c.api = base.WithRetry(&api.Retry{For: wait, OnAnswer: c.counter("")})
	c.conflicts = base.WithRetry(&api.Retry{For: wait, OnAnswer: c.counter("conflict: ")})
	return c, nil
}

// counter returns the OnAnswer of a client's retries: it counts every
// POST, and every answer other than 201, 503 and, for a conflicting
// re-use, 409 request_id_conflict as unexpected, under prefix; the
// client sends only valid transfers, so any other fails the run.
func (c *client) counter(prefix string) func(api.Answer, error, time.Duration) {
	return func(a api.Answer, err error, took time.Duration) {
		c.counts.Count(a, err, took)
		switch {
		case err != nil:
			slog.Debug("POST failed", "error", err)
		case a.Status == http.StatusCreated, a.Status == http.StatusServiceUnavailable:
		case prefix != "" && a.Status == http.StatusConflict && a.Code() == string(wallet.ERequestIDConflict):
		default:
			c.countError(a.Status, prefix+a.Code())
			if a.Status >= 500 { // retried: the final answer is logged by the caller
				slog.Error("unexpected answer", "status", a.Status, "code", a.Code(), "kind", prefix)
			}
		}
	}
}

func (c *client) close() {
	c.api.HTTPClient.CloseIdleConnections()
	c.kafka.Close()
}

// outcome is how the posts of one transfer ended.
type outcome int

const (
	accepted    outcome = iota // answered 201
	unconfirmed                // no 201 before the deadline: applied or not
	rejected                   // answered 4xx: a bug, the client sends only valid transfers
	canceled                   // the run was interrupted
)

// send posts t (to the endpoint of its kind) until it is answered 201,
// retrying 503s, other 5xx and connection errors with the same request
// ID and a growing backoff until -transfer-timeout (c.api's Retry).
func (c *client) send(ctx context.Context, t wallet.Transfer, k kind) outcome {
	var a api.Answer
	var err error
	switch k {
	case deposit:
		a, err = c.api.Deposit(ctx, t.RequestID, t.To, t.Amount)
	case withdrawal:
		a, err = c.api.Withdraw(ctx, t.RequestID, t.From, t.Amount)
	default:
		a, err = c.api.PostTransfer(ctx, t)
	}
	switch {
	case ctx.Err() != nil:
		return canceled
	case err == nil && a.Status == http.StatusCreated:
		return accepted
	case err == nil && a.Status < 500:
		slog.Error("unexpected answer to a valid transfer", "status", a.Status, "code", a.Code(), "transfer", t, "kind", k)
		return rejected
	}
	slog.Warn("transfer unconfirmed: no 201 before the deadline", "request_id", t.RequestID)
	return unconfirmed
}

// sendConflict posts t, a request ID already used for another transfer,
// until it is answered 409 request_id_conflict or 201 (the view did not
// know the first one yet), retrying as send does, and returns that status:
// 0 when neither came before the deadline.
func (c *client) sendConflict(ctx context.Context, t wallet.Transfer) int {
	a, err := c.conflicts.PostTransfer(ctx, t)
	switch {
	case ctx.Err() != nil, err != nil, a.Status >= 500:
		return 0
	case a.Status != http.StatusCreated && a.Code() != string(wallet.ERequestIDConflict):
		slog.Error("unexpected answer to a conflicting re-use of a request ID", "status", a.Status, "code", a.Code(), "transfer", t)
	}
	return a.Status
}

// produce writes t straight to wallet.transfer_request, keyed by its
// request ID, as any Kafka client may, until Kafka acknowledges it or the
// deadline passes.
func (c *client) produce(ctx context.Context, t wallet.Transfer, deadline time.Time) outcome {
	value, err := json.Marshal(t)
	if err != nil {
		// The harness makes only valid transfers: this is its bug.
		slog.Error("transfer not encoded", "request_id", t.RequestID, "error", err)
		return rejected
	}
	backoff := 50 * time.Millisecond
	for {
		c.produced.Add(1)
		pctx, cancel := context.WithDeadline(ctx, deadline)
		err := c.kafka.ProduceSync(pctx, &kgo.Record{Topic: string(topology.TransferRequests), Key: []byte(t.RequestID.String()), Value: value}).FirstErr()
		cancel()
		switch {
		case ctx.Err() != nil:
			return canceled
		case err == nil:
			return accepted
		}
		c.produceErrors.Add(1)
		slog.Debug("produce failed", "request_id", t.RequestID, "error", err)
		if time.Now().After(deadline) {
			slog.Warn("transfer unconfirmed: Kafka did not acknowledge it before the deadline", "request_id", t.RequestID)
			return unconfirmed
		}
		harness.Sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (c *client) countError(status int, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors[fmt.Sprintf("%d %s", status, code)]++
}

func (c *client) errorCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.errors)
}

// staleRecords returns how many old versions of accounts the view has
// skipped: versions committed to the accountant's changelog after a newer
// one. The processors' transactions fence a zombie's writes, so there
// must be none.
func (c *client) staleRecords(ctx context.Context) (int64, error) {
	n, err := c.api.Metric(ctx, api.ReadSide, "wallet_table_records_total", map[string]string{"kind": "stale"})
	return int64(n), err
}
