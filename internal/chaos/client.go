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
	"github.com/wallet/wallet/topology"
)

// client talks to the wallet's HTTP APIs and counts what it saw.
type client struct {
	api *api.Client

	posts      atomic.Int64 // POSTs sent
	unavail    atomic.Int64 // 503 answers
	connErrors atomic.Int64 // POSTs without an answer

	kafka         *kgo.Client  // writes transfers straight to wallet.transfer_request
	produced      atomic.Int64 // records produced
	produceErrors atomic.Int64 // records Kafka did not acknowledge

	mu     sync.Mutex
	errors map[string]int // unexpected answers by "status code", e.g. "400 amount_invalid"
}

func newClient(emitter, view, broker, operator string, conns int) (*client, error) {
	opts, err := kafkaOpts(broker)
	if err != nil {
		return nil, err
	}
	kc, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", broker, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Enough kept-alive connections for the workers and the outcome
	// check's GETs: a GET that finds none idle opens a new one, and a
	// million of them leave the ephemeral ports in TIME_WAIT.
	idle := max(2*conns, conns+outcomeConc)
	tr.MaxIdleConns = 2 * idle
	tr.MaxIdleConnsPerHost = idle
	return &client{
		api: &api.Client{
			// Above the emitter's 5 s wait for Kafka, which then answers 503.
			HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second},
			URL:        emitter,
			ViewURL:    view,
			Operator:   operator,
		},
		kafka:  kc,
		errors: map[string]int{},
	}, nil
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
// ID and a growing backoff until the deadline.
func (c *client) send(ctx context.Context, t wallet.Transfer, k kind, deadline time.Time) outcome {
	backoff := 50 * time.Millisecond
	for {
		c.posts.Add(1)
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
		case err != nil:
			c.connErrors.Add(1)
			slog.Debug("POST failed", "request_id", t.RequestID, "error", err)
		case a.Status == http.StatusCreated:
			return accepted
		case a.Status == http.StatusServiceUnavailable:
			c.unavail.Add(1)
		default:
			c.countError(a.Status, a.Code())
			slog.Error("unexpected answer to a valid transfer", "status", a.Status, "code", a.Code(), "transfer", t, "kind", k)
			if a.Status < 500 {
				return rejected
			}
		}
		if time.Now().After(deadline) {
			slog.Warn("transfer unconfirmed: no 201 before the deadline", "request_id", t.RequestID)
			return unconfirmed
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// sendConflict posts t, a request ID already used for another transfer,
// until it is answered 409 request_id_conflict or 201 (the view did not
// know the first one yet), retrying as send does, and returns that status:
// 0 when neither came before the deadline.
func (c *client) sendConflict(ctx context.Context, t wallet.Transfer, deadline time.Time) int {
	backoff := 50 * time.Millisecond
	for {
		c.posts.Add(1)
		a, err := c.api.PostTransfer(ctx, t)
		switch {
		case ctx.Err() != nil:
			return 0
		case err != nil:
			c.connErrors.Add(1)
		case a.Status == http.StatusCreated:
			return a.Status
		case a.Status == http.StatusConflict && a.Code() == string(wallet.ERequestIDConflict):
			return a.Status
		case a.Status == http.StatusServiceUnavailable:
			c.unavail.Add(1)
		default:
			c.countError(a.Status, "conflict: "+a.Code())
			slog.Error("unexpected answer to a conflicting re-use of a request ID", "status", a.Status, "code", a.Code(), "transfer", t)
			if a.Status < 500 {
				return a.Status
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// produce writes t straight to wallet.transfer_request, keyed by its
// request ID, as any Kafka client may, until Kafka acknowledges it or the
// deadline passes.
func (c *client) produce(ctx context.Context, t wallet.Transfer, deadline time.Time) outcome {
	value, err := json.Marshal(t)
	if err != nil {
		panic(err) // a wallet.Transfer always encodes
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
		sleep(ctx, backoff)
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

// balance returns the account's balance in cents from the view, and
// whether the view knows the account.
func (c *client) balance(ctx context.Context, account string) (cents int64, found bool, err error) {
	acct, found, err := c.api.Account(ctx, account)
	return acct.Balance.Cents(), found, err
}

// staleRecords returns how many old versions of accounts the view has
// skipped: versions committed to the accountant's changelog after a newer
// one. The processors' transactions fence a zombie's writes, so there
// must be none.
func (c *client) staleRecords(ctx context.Context) (int64, error) {
	n, err := c.api.Metric(ctx, api.ReadSide, "wallet_table_records_total", map[string]string{"kind": "stale"})
	return int64(n), err
}
