package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wallet/wallet"
)

// Client is a client of the wallet's HTTP API: the one the harnesses and
// the integration tests share. The write side (the emitter) and the read
// side (the view) may be two servers. A Client is safe for concurrent use
// once set up; each method sends one request, but a POST that carries a
// request ID is sent again as Retry says, if set.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Set
	// its Transport to size the pool of kept-alive connections, and its
	// Timeout to bound a request.
	HTTPClient *http.Client
	// URL is the base URL of the write side, e.g. "http://127.0.0.1:8000":
	// POST /api/v1/transfers.
	URL string
	// Wait, when set, makes the POSTs of transfers, deposits and
	// withdrawals wait up to this long for the outcome (Prefer: wait).
	Wait time.Duration
	// ViewURL is the base URL of the read side: GET /api/v1/accounts/
	// {account}. Empty means URL.
	ViewURL string
	// Operator is the operator's key, for deposits and for reads of
	// accounts and transfers whose key the client does not hold; "" for
	// none.
	Operator string
	// Retry, when set, makes the POSTs that carry a request ID
	// (PostTransfer, PostTransferJSON, Deposit, Withdraw, PostAccount,
	// IssueKey) post the same body again after an answer that leaves
	// the request's fate open; nil sends each once. See Retry.
	Retry *Retry

	// keys are the API keys the client holds, by account key: each
	// signup's (PostAccount) and those given by SetKey. A copy of the
	// client shares them once it has one.
	keys *sync.Map
}

// keyrings guards the creation of Clients' keys.
var keyrings sync.Mutex

func (c *Client) keyring() *sync.Map {
	keyrings.Lock()
	defer keyrings.Unlock()
	if c.keys == nil {
		c.keys = new(sync.Map)
	}
	return c.keys
}

// SetKey makes the client authenticate as the owner of the account name
// with the API key key in the calls on that account.
func (c *Client) SetKey(name, key string) {
	if k, err := wallet.AccountKey(name); err == nil {
		c.keyring().Store(k, key)
	}
}

// Key returns the API key the client holds for the account name, or "".
func (c *Client) Key(name string) string {
	k, err := wallet.AccountKey(name)
	if err != nil {
		return ""
	}
	key, _ := c.keyring().Load(k)
	s, _ := key.(string)
	return s
}

// WithRetry returns a copy of c that posts again as r says (nil: never),
// with c's settings and keys, the ones either learns later included: one
// client of the API, with a policy per kind of request, or a counter of
// answers (Retry.OnAnswer) per goroutine.
func (c *Client) WithRetry(r *Retry) *Client {
	c.keyring() // created before the copy, so that both share it
	cp := *c
	cp.Retry = r
	return &cp
}

// credential returns the key a call that moves money from the account
// from (to the account to) authenticates with: from's owner's, else the
// operator's, which is the one a deposit needs.
func (c *Client) credential(from string) string {
	if key := c.Key(from); key != "" {
		return key
	}
	return c.Operator
}

// reader returns the key a read of accounts authenticates with: the
// operator's if the client holds it (it reads everything), else the
// key of the first of the accounts that the client holds.
func (c *Client) reader(accounts ...string) string {
	if c.Operator != "" {
		return c.Operator
	}
	for _, a := range accounts {
		if key := c.Key(a); key != "" {
			return key
		}
	}
	return ""
}

// NewClient returns a client of the API served at url, both sides, over
// http.DefaultClient.
func NewClient(url string) *Client { return &Client{URL: url} }

// Side is one of the two servers a Client talks to.
type Side int

const (
	WriteSide Side = iota // Client.URL
	ReadSide              // Client.ViewURL
)

// MaxAnswerBytes is the most of an answer's body a Client reads; the rest
// is discarded, so that the connection can be reused.
const MaxAnswerBytes = 64 << 10

// Answer is the server's answer to a request.
type Answer struct {
	Status int    // the HTTP status code
	Body   []byte // the body, at most MaxAnswerBytes of it
}

// Code returns the code of an error answer, from its ErrorResponse body:
// "" for a 2xx answer, "?" when the body carries no code.
func (a Answer) Code() string {
	if a.Status >= 200 && a.Status < 300 {
		return ""
	}
	var e ErrorResponse
	if json.Unmarshal(a.Body, &e) != nil || e.Code == "" {
		return "?"
	}
	return e.Code
}

// Transfer decodes the body of a 201 answer to POST /api/v1/transfers: the
// transfer as the server stored it (request ID in canonical form, names
// trimmed).
func (a Answer) Transfer() (wallet.Transfer, error) {
	var t wallet.Transfer
	if err := json.Unmarshal(a.Body, &t); err != nil {
		return t, fmt.Errorf("decode transfer answered %d: %w", a.Status, err)
	}
	return t, nil
}

// StatusError is an answer other than the ones a method expects.
type StatusError struct {
	Method, URL string
	Answer
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s %s", e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Code())
}

// PostTransfer posts t to POST /api/v1/transfers. Any answer is returned,
// whatever its status: 201 when Kafka acknowledged the transfer, 503 when
// it may or may not have been stored (retry with the same request ID), 4xx
// when it was refused. err is set when no answer came.
func (c *Client) PostTransfer(ctx context.Context, t wallet.Transfer) (Answer, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return Answer{}, fmt.Errorf("encode transfer %s: %w", t.RequestID, err)
	}
	return c.PostTransferJSON(ctx, body)
}

// PostTransferJSON is PostTransfer with the body already encoded, for a
// sender that encodes its own (or an invalid one, to test the server).
// It authenticates as the owner of the body's "from", if the client holds
// its key, else as the operator.
func (c *Client) PostTransferJSON(ctx context.Context, body []byte) (Answer, error) {
	var t struct {
		From string `json:"from"`
	}
	_ = json.Unmarshal(body, &t) // an invalid body is the server's to refuse
	return c.postTransfer(ctx, "/api/v1/transfers", body, c.credential(t.From))
}

// postTransfer posts to one of the three endpoints that store a transfer,
// with the key, asking to wait for the outcome when the client is set to.
func (c *Client) postTransfer(ctx context.Context, path string, body []byte, key string) (Answer, error) {
	header := bearer(key)
	if c.Wait > 0 {
		header = append(header, "Prefer", fmt.Sprintf("wait=%d", int(c.Wait/time.Second)))
	}
	return c.post(ctx, path, body, header...)
}

// bearer returns the header that authenticates with key; none for "".
func bearer(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"Authorization", "Bearer " + key}
}

// Deposit posts a deposit of amount to the account, a transfer from
// wallet.World, to POST /api/v1/deposits; answers as PostTransfer.
// It authenticates as the operator.
func (c *Client) Deposit(ctx context.Context, id uuid.UUID, account string, amount wallet.Money) (Answer, error) {
	return c.postMovement(ctx, "/api/v1/deposits", id, account, amount, c.Operator)
}

// Withdraw posts a withdrawal of amount from the account, a transfer to
// wallet.World, to POST /api/v1/withdrawals; answers as PostTransfer.
// It authenticates as the account's owner, else as the operator.
func (c *Client) Withdraw(ctx context.Context, id uuid.UUID, account string, amount wallet.Money) (Answer, error) {
	return c.postMovement(ctx, "/api/v1/withdrawals", id, account, amount, c.credential(account))
}

func (c *Client) postMovement(ctx context.Context, path string, id uuid.UUID, account string, amount wallet.Money, key string) (Answer, error) {
	body, err := json.Marshal(struct {
		RequestID uuid.UUID    `json:"request_id"`
		Account   string       `json:"account"`
		Amount    wallet.Money `json:"amount"`
	}{id, account, amount})
	if err != nil {
		return Answer{}, fmt.Errorf("encode %s: %w", path, err)
	}
	return c.postTransfer(ctx, path, body, key)
}

// Transfer returns the transfer stored under a request ID and its status,
// as the read side shows it; found is false when it answers 404. Any
// other answer but 200 is a *StatusError.
// It authenticates as the operator, else as the owner of one of accounts
// (the transfer's sender or recipient) whose key the client holds.
func (c *Client) Transfer(ctx context.Context, id uuid.UUID, accounts ...string) (t TransferResponse, found bool, err error) {
	found, err = c.get(ctx, "/api/v1/transfers/"+id.String(), c.reader(accounts...), &t)
	return t, found, err
}

// get reads a resource of the read side into v with the key; found is
// false when it answers 404, and any other answer but 200 is a
// *StatusError.
func (c *Client) get(ctx context.Context, path, key string, v any) (found bool, err error) {
	a, err := c.do(ctx, ReadSide, http.MethodGet, path, nil, bearer(key)...)
	switch {
	case err != nil:
		return false, err
	case a.Status == http.StatusNotFound:
		return false, nil
	case a.Status != http.StatusOK:
		return false, c.statusError(ReadSide, http.MethodGet, path, a)
	}
	if err := json.Unmarshal(a.Body, v); err != nil {
		return false, fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return true, nil
}

// TransferResponse decodes the body of GET /api/v1/transfers/{id}, or of a
// POST that waited for the outcome.
func (a Answer) TransferResponse() (TransferResponse, error) {
	var t TransferResponse
	if err := json.Unmarshal(a.Body, &t); err != nil {
		return t, fmt.Errorf("decode transfer answered %d: %w", a.Status, err)
	}
	return t, nil
}

// PostAccount posts a claim of c.Username to POST /api/v1/accounts. Any
// answer is returned, whatever its status: 201 when this request owns the
// account, 409 when another does (username_taken), 202 when no decision
// came in time, 503 when the claim may or may not have been stored (retry
// with the same request ID), 400 when it was refused. err is set when no
// answer came. The API key of a 201 that has one is kept for the
// account's calls (Key).
func (c *Client) PostAccount(ctx context.Context, cl wallet.Claim) (Answer, error) {
	body, err := json.Marshal(signupBody{RequestID: ptr(cl.RequestID.String()), Username: &cl.Username,
		OverdraftLimit: json.RawMessage(`"` + cl.OverdraftLimit.String() + `"`)})
	if err != nil {
		return Answer{}, fmt.Errorf("encode claim %s: %w", cl.RequestID, err)
	}
	a, err := c.post(ctx, "/api/v1/accounts", body)
	if err == nil && a.Status == http.StatusCreated {
		if acct, err := a.Account(); err == nil && acct.APIKey != "" {
			c.SetKey(cl.Username, acct.APIKey)
		}
	}
	return a, err
}

// IssueKey asks POST /api/v1/accounts/{name}/keys for a new API key of the
// account, authenticated as its owner, else as the operator; replaces, if
// not "", is the ID of a key to revoke with it. The key of a 201 is kept
// for the account's calls, and returned.
func (c *Client) IssueKey(ctx context.Context, id uuid.UUID, name, replaces string) (string, Answer, error) {
	body, err := json.Marshal(keyBody{RequestID: ptr(id.String()), Replaces: replaces})
	if err != nil {
		return "", Answer{}, fmt.Errorf("encode key request %s: %w", id, err)
	}
	a, err := c.post(ctx, "/api/v1/accounts/"+url.PathEscape(name)+"/keys", body, bearer(c.credential(name))...)
	if err != nil || a.Status != http.StatusCreated {
		return "", a, err
	}
	var k KeyResponse
	if err := json.Unmarshal(a.Body, &k); err != nil || k.APIKey == "" {
		return "", a, fmt.Errorf("decode key answered %d: %v", a.Status, err)
	}
	c.SetKey(name, k.APIKey)
	return k.APIKey, a, nil
}

// Account decodes the body of a 201 answer to POST /api/v1/accounts.
func (a Answer) Account() (AccountResponse, error) {
	var acct AccountResponse
	if err := json.Unmarshal(a.Body, &acct); err != nil {
		return acct, fmt.Errorf("decode account answered %d: %w", a.Status, err)
	}
	return acct, nil
}

func ptr[T any](v T) *T { return &v }

// Account returns the account as the read side shows it; found is false
// when it answers 404 (no claim of the name has won). Any other answer but
// 200 is a *StatusError.
// It authenticates as the operator, else as the account's owner.
func (c *Client) Account(ctx context.Context, name string) (acct AccountResponse, found bool, err error) {
	found, err = c.get(ctx, "/api/v1/accounts/"+url.PathEscape(name), c.reader(name), &acct)
	return acct, found, err
}

// Health returns nil when the side answers GET /healthz with 200: the
// process serves HTTP.
func (c *Client) Health(ctx context.Context, s Side) error {
	return c.expect200(ctx, s, "/healthz")
}

// Ready returns nil when the side answers GET /readyz with 200: a view has
// caught up with the balances once.
func (c *Client) Ready(ctx context.Context, s Side) error {
	return c.expect200(ctx, s, "/readyz")
}

// Metric returns the value of the metric name on the side's GET /metrics,
// summed over its series whose labels include labels (nil for all): a
// counter's or gauge's value, a histogram's number of observations. 0 when
// no series matches. The metrics are the side's process's own.
func (c *Client) Metric(ctx context.Context, s Side, name string, labels map[string]string) (float64, error) {
	a, err := c.do(ctx, s, http.MethodGet, "/metrics", nil)
	if err != nil {
		return 0, err
	}
	if a.Status != http.StatusOK {
		return 0, c.statusError(s, http.MethodGet, "/metrics", a)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(a.Body))
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: decode: %w", err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, nil
}

// hasLabels reports whether metric m has every label of want.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	for name, value := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *Client) expect200(ctx context.Context, s Side, path string) error {
	a, err := c.do(ctx, s, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if a.Status != http.StatusOK {
		return c.statusError(s, http.MethodGet, path, a)
	}
	return nil
}

// Base returns the base URL of side s.
func (c *Client) Base(s Side) string {
	if s == ReadSide && c.ViewURL != "" {
		return c.ViewURL
	}
	return c.URL
}

func (c *Client) statusError(s Side, method, path string, a Answer) error {
	return &StatusError{Method: method, URL: c.Base(s) + path, Answer: a}
}

// Retry is a policy of posting a request again with the same body, so
// with the same request ID, after an answer that leaves its fate open:
// none at all, or a 5xx (503: it may or may not have been stored), which
// the API asks to retry with the same request ID; and, with Pending, a
// 202 (stored, or claimed, but not decided within the server's wait).
// The server keeps one request per request ID and answers a re-post with
// what it decided for the first, so a re-post never moves money twice.
// The answer a Client method returns is the last one. When ctx ends the
// retries, it returns the last answer with ctx's error.
//
// The zero Retry posts again until another answer comes or ctx ends.
type Retry struct {
	// For bounds the retries in time: no POST is sent again once For has
	// passed since the first. 0: no bound in time.
	For time.Duration
	// Posts bounds them in number: at most this many POSTs in all, the
	// first included. 0: no bound in number.
	Posts int
	// Backoff is the wait before the first re-post, doubled before each
	// next one up to MaxBackoff: a server that answers 503 is busy or
	// cut off from Kafka, and a storm of re-posts would not help it.
	// Defaults 50 ms and 2 s.
	Backoff, MaxBackoff time.Duration
	// Pending also posts a 202 again: a claim (PostAccount) or, with
	// Client.Wait, a transfer that the server stored but did not decide
	// within its wait. The re-post waits for the decision again.
	Pending bool
	// OnAnswer, if set, is called after every POST with its answer, or
	// the error when none came, and how long it took: the retries hide
	// every answer but the last, and a caller that counts answers or
	// measures latencies needs them all. It is not called for a POST
	// that failed because ctx ended.
	OnAnswer func(a Answer, err error, took time.Duration)
}

// again reports whether the answer leaves the request's fate open.
func (r *Retry) again(a Answer, err error) bool {
	return err != nil || a.Status >= 500 || r.Pending && a.Status == http.StatusAccepted
}

// post sends a POST that carries a request ID: once, or as c.Retry says.
func (c *Client) post(ctx context.Context, path string, body []byte, header ...string) (Answer, error) {
	r := c.Retry
	if r == nil {
		return c.do(ctx, WriteSide, http.MethodPost, path, body, header...)
	}
	backoff := r.Backoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	maxBackoff := r.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 2 * time.Second
	}
	first := time.Now()
	for posts := 1; ; posts++ {
		start := time.Now()
		a, err := c.do(ctx, WriteSide, http.MethodPost, path, body, header...)
		if err != nil && ctx.Err() != nil {
			return a, err
		}
		if r.OnAnswer != nil {
			r.OnAnswer(a, err, time.Since(start))
		}
		if !r.again(a, err) || r.Posts > 0 && posts >= r.Posts || r.For > 0 && time.Since(first) > r.For {
			return a, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return a, fmt.Errorf("POST %s: retries ended after %d posts: %w", c.Base(WriteSide)+path, posts, context.Cause(ctx))
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// do sends one request with a JSON body, if any, and reads the answer.
func (c *Client) do(ctx context.Context, s Side, method, path string, body []byte, header ...string) (Answer, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	u := c.Base(s) + path
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, err // *url.Error names the method and URL
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes))
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body) // so that the connection is reused
	}
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	return Answer{Status: resp.StatusCode, Body: b}, nil
}
