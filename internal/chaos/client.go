package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet"
)

// client talks to the wallet's HTTP APIs and counts what it saw.
type client struct {
	http    *http.Client
	emitter string // base URL of the transfer API
	view    string // base URL of the balance API

	posts      atomic.Int64 // POSTs sent
	unavail    atomic.Int64 // 503 answers
	connErrors atomic.Int64 // POSTs without an answer

	mu     sync.Mutex
	errors map[string]int // unexpected answers by "status code", e.g. "400 amount_invalid"
}

func newClient(emitter, view string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * conns
	tr.MaxIdleConnsPerHost = 2 * conns
	return &client{
		// Above the emitter's 5 s wait for Kafka, which then answers 503.
		http:    &http.Client{Transport: tr, Timeout: 10 * time.Second},
		emitter: emitter,
		view:    view,
		errors:  map[string]int{},
	}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// outcome is how the posts of one transfer ended.
type outcome int

const (
	accepted    outcome = iota // answered 201
	unconfirmed                // no 201 before the deadline: applied or not
	rejected                   // answered 4xx: a bug, the client sends only valid transfers
	canceled                   // the run was interrupted
)

// send posts t until it is answered 201, retrying 503s, other 5xx and
// connection errors with the same request ID and a growing backoff until
// the deadline.
func (c *client) send(ctx context.Context, t transferBody, deadline time.Time) outcome {
	backoff := 50 * time.Millisecond
	for {
		status, code, err := c.post(ctx, t)
		switch {
		case ctx.Err() != nil:
			return canceled
		case err != nil:
			c.connErrors.Add(1)
			slog.Debug("POST failed", "request_id", t.RequestID, "error", err)
		case status == http.StatusCreated:
			return accepted
		case status == http.StatusServiceUnavailable:
			c.unavail.Add(1)
		default:
			c.countError(status, code)
			slog.Error("unexpected answer to a valid transfer", "status", status, "code", code, "transfer", t)
			if status < 500 {
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

func (c *client) countError(status int, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors[fmt.Sprintf("%d %s", status, code)]++
}

func (c *client) errorCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.errors))
	for k, v := range c.errors {
		m[k] = v
	}
	return m
}

// transferBody is the JSON of POST /api/v1/transfers.
type transferBody struct {
	RequestID string `json:"request_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	Amount    string `json:"amount"`
}

// post sends one POST and returns the status and the error code of the
// body, if any.
func (c *client) post(ctx context.Context, t transferBody) (status int, code string, err error) {
	body, err := json.Marshal(t)
	if err != nil {
		return 0, "", fmt.Errorf("encode transfer: %w", err)
	}
	c.posts.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.emitter+"/api/v1/transfers", strings.NewReader(string(body)))
	if err != nil {
		return 0, "", fmt.Errorf("POST transfer: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST transfer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, "", fmt.Errorf("POST transfer: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(b, &e) != nil || e.Code == "" {
			e.Code = "?"
		}
		code = e.Code
	}
	return resp.StatusCode, code, nil
}

// errNotServed is a view answer other than 200 or 404.
var errNotServed = errors.New("balance not served")

// balance returns the account's balance in cents from the view, and
// whether the view knows the account.
func (c *client) balance(ctx context.Context, account string) (cents int64, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.view+"/api/v1/accounts/"+url.PathEscape(account), nil)
	if err != nil {
		return 0, false, fmt.Errorf("GET account %s: %w", account, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("GET account %s: %w", account, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("GET account %s: %s: %w", account, resp.Status, errNotServed)
	}
	var body struct {
		Balance string `json:"balance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, fmt.Errorf("GET account %s: decode: %w", account, err)
	}
	balance, err := wallet.ParseMoney(body.Balance)
	if err != nil {
		return 0, false, fmt.Errorf("GET account %s: %w", account, err)
	}
	return balance.Cents(), true, nil
}

// staleRecords returns how many old versions of accounts the view has
// skipped (processors.StoreNewest): writes that reached the accountant's
// changelog after a newer version, as a fenced-off instance makes them.
func (c *client) staleRecords(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.view+"/debug/vars", nil)
	if err != nil {
		return 0, fmt.Errorf("GET view counters: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET view counters: %w", err)
	}
	defer resp.Body.Close()
	var vars struct {
		Wallet struct {
			Stale int64 `json:"stale_table_records"`
		} `json:"wallet"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return 0, fmt.Errorf("GET view counters: decode: %w", err)
	}
	return vars.Wallet.Stale, nil
}
