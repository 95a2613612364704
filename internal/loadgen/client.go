package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/wallet/wallet"
)

// client talks to the wallet's two APIs over kept-alive connections.
type client struct {
	http *http.Client
	api  string
	view string
}

func newClient(c config) *client {
	conns := 2*c.concurrency + c.drainConc + 4
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: c.timeout}, api: c.api, view: c.view}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// answer is how one POST ended: a status and, for an error answer, its
// code; or err when there was no answer.
type answer struct {
	status int
	code   string
	err    error
}

// key names the answer in the error counts: "503 unavailable",
// "transport: timeout".
func (a answer) key() string {
	if a.err != nil {
		var ne net.Error
		if errors.As(a.err, &ne) && ne.Timeout() {
			return "transport: timeout"
		}
		return "transport: error"
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

// ambiguous reports whether the transfer may or may not have been stored:
// the API says to retry those with the same body.
func (a answer) ambiguous() bool {
	return a.err != nil || a.status == http.StatusServiceUnavailable || a.status >= 500
}

// post sends one transfer body.
func (c *client) post(ctx context.Context, body []byte) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/api/v1/transfers", bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		// Read to the end so that the connection is reused.
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return answer{err: err}
		}
		return answer{status: resp.StatusCode}
	}
	return answer{status: resp.StatusCode, code: errorCode(resp.Body)}
}

func errorCode(r io.Reader) string {
	var e struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&e); err != nil || e.Code == "" {
		return "?"
	}
	_, _ = io.Copy(io.Discard, r)
	return e.Code
}

// errNotFound is the view's 404 for an account without payments.
var errNotFound = errors.New("account not found")

// balance returns the account's balance in cents as the view shows it.
func (c *client) balance(ctx context.Context, account string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.view+"/api/v1/accounts/"+account, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, errNotFound
	default:
		return 0, fmt.Errorf("GET account %s: %s %s", account, resp.Status, errorCode(resp.Body))
	}
	var body struct {
		Balance string `json:"balance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("GET account %s: %w", account, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	balance, err := wallet.ParseMoney(body.Balance)
	if err != nil {
		return 0, fmt.Errorf("GET account %s: %w", account, err)
	}
	return balance.Cents(), nil
}

// ping checks that base answers /healthz.
func (c *client) ping(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("no wallet answers at %s (%w): start one with `make run`, or use -embedded", base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz answered %s", base, resp.Status)
	}
	return nil
}
