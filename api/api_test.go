package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/views"
)

const primerID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"

type transfers struct {
	sent []wallet.Transfer
	err  error
}

func (s *transfers) Send(ctx context.Context, t wallet.Transfer) error {
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, t)
	return nil
}

type accounts map[string]wallet.Account

func (a accounts) Account(name string) (wallet.Account, bool, error) {
	acct, ok := a[name]
	return acct, ok, nil
}

func (a accounts) Recovered() bool { return true }

// signups is the signup group and its view at once: the first claim sent
// for a key wins it at once.
type signups struct {
	mu     sync.Mutex
	won    map[string]wallet.Signup
	err    error // what Send answers
	offset int64
}

func newSignups(won map[string]wallet.Signup) *signups {
	if won == nil {
		won = map[string]wallet.Signup{}
	}
	return &signups{won: won}
}

func (s *signups) Send(ctx context.Context, key string, c wallet.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	var stored *wallet.Signup
	if w, ok := s.won[key]; ok {
		stored = &w
	}
	s.offset++
	if d := processors.DecideClaim(stored, c, key, s.offset); d.Store != nil {
		s.won[key] = *d.Store
	}
	return nil
}

func (s *signups) SendKeyChange(ctx context.Context, k wallet.KeyChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	var stored *wallet.Signup
	if w, ok := s.won[k.Account]; ok {
		stored = &w
	}
	s.offset++
	store, err := processors.DecideKeyChange(stored, k, s.offset)
	if err != nil {
		return nil // dead-lettered
	}
	if store != nil {
		s.won[k.Account] = *store
	}
	return nil
}

func (s *signups) Signup(key string) (wallet.Signup, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.won[key]
	return w, ok, nil
}

func (s *signups) After(after string, limit int) ([]views.Keyed, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.won {
		if k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var page []views.Keyed
	for _, k := range keys[:min(limit, len(keys))] {
		page = append(page, views.Keyed{Key: k, Signup: s.won[k]})
	}
	next := ""
	if len(page) == limit {
		next = page[len(page)-1].Key
	}
	return page, next, nil
}

func (s *signups) Recovered() bool { return true }

func do(t *testing.T, h http.Handler, method, path, body string) (int, string, http.Header) {
	t.Helper()
	return doAs(t, h, "", method, path, body)
}

// doAs sends a request authenticated with key ("" for none).
func doAs(t *testing.T, h http.Handler, key, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, httptestServer(t, h)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return roundTrip(t, req)
}

// operatorKey is the operator's key of the tests' servers.
const operatorKey = "wltop_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

// signUp signs name up in s, with an API key, as the signup group would,
// and returns the key.
func signUp(t *testing.T, s *signups, name string, limit wallet.Money) string {
	t.Helper()
	key, err := wallet.AccountKey(name)
	if err != nil {
		t.Fatal(err)
	}
	apiKey, hash, err := wallet.NewKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := wallet.Claim{RequestID: uuid.New(), Username: name, OverdraftLimit: limit, KeyHash: &hash}
	if err := s.Send(t.Context(), key, c); err != nil {
		t.Fatal(err)
	}
	return apiKey
}

// httptestServer serves h until the test ends and returns its URL.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// roundTrip sends req and returns the status, the trimmed body and the
// headers of the answer.
func roundTrip(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func TestPostTransfer(t *testing.T) {
	tr := &transfers{}
	s := newSignups(nil)
	alice := signUp(t, s, "Alice", wallet.Money{})
	signUp(t, s, "Bob", wallet.Money{})
	h := (&api.Server{Transfers: tr, Signups: s}).Handler()
	status, body, hdr := doAs(t, h, alice, "POST", "/api/v1/transfers",
		`{"request_id":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","from":" Alice","to":"Bob","amount":0.5}`)
	if status != http.StatusCreated {
		t.Fatalf("status = %d, body %s", status, body)
	}
	want := `{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","amount":"0.50","to":"Bob"}`
	if body != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(tr.sent) != 1 || tr.sent[0].From != "Alice" {
		t.Errorf("sent %+v", tr.sent)
	}
}

func TestPostTransferErrors(t *testing.T) {
	valid := `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0.50"}`
	tests := []struct {
		name    string
		method  string
		body    string
		sendErr error
		status  int
		want    string
	}{
		{"bad JSON", "POST", `{"from":`, nil, 400, `{"message":"problems parsing JSON","code":"invalid_json"}`},
		{"bad request ID", "POST", `{"request_id":"x","from":"Alice","to":"Bob","amount":"1"}`, nil, 400, `{"message":"transfer request ID must be valid UUID","code":"request_id_invalid"}`},
		{"no sender", "POST", `{"request_id":"` + primerID + `","to":"Bob","amount":"1"}`, nil, 400, `{"message":"transfer sender account is required","code":"from_required"}`},
		{"no recipient", "POST", `{"request_id":"` + primerID + `","from":"Alice","amount":"1"}`, nil, 400, `{"message":"transfer recipient account is required","code":"to_required"}`},
		{"too small", "POST", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0"}`, nil, 400, `{"message":"ensure this value is greater than 0.01","code":"amount_lt_min"}`},
		{"too large a body", "POST", `{"from":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, nil, 413, `"code":"body_too_large"`},
		{"wrong method", "GET", ``, nil, 405, `"code":"method_not_allowed"`},
		{"Kafka did not acknowledge", "POST", valid, errors.New("timeout"), 503, `"code":"unavailable"`},
	}
	s := newSignups(nil)
	alice := signUp(t, s, "Alice", wallet.Money{})
	signUp(t, s, "Bob", wallet.Money{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := (&api.Server{Transfers: &transfers{err: tt.sendErr}, Signups: s}).Handler()
			status, body, _ := doAs(t, h, alice, tt.method, "/api/v1/transfers", tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.want)
			}
		})
	}
}

func TestGetAccount(t *testing.T) {
	bob := wallet.Signup{Claim: wallet.Claim{RequestID: uuid.MustParse(primerID), Username: "Bob"}}
	h := (&api.Server{
		Signups:  newSignups(map[string]wallet.Signup{"bob": bob}),
		Accounts: accounts{"bob": {Balance: wallet.Cents(50)}, wallet.World: {Balance: wallet.Cents(-50)}},
		Operator: operatorKey,
	}).Handler()
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/accounts/Bob", 200, `{"account":"Bob","balance":"0.50","currency":"USD","overdraft_limit":"0.00"}`},
		{"/api/v1/accounts/BOB", 200, `{"account":"Bob","balance":"0.50","currency":"USD","overdraft_limit":"0.00"}`},
		{"/api/v1/accounts/%EF%BC%A2%EF%BD%8F%EF%BD%82", 200, `{"account":"Bob","balance":"0.50","currency":"USD","overdraft_limit":"0.00"}`}, // Ｂｏｂ
		{"/api/v1/accounts/@world", 200, `{"account":"@world","balance":"-0.50","currency":"USD"}`},
		{"/api/v1/accounts", 200, `{"accounts":[{"account":"Bob","balance":"0.50","currency":"USD","overdraft_limit":"0.00"}]}`},
		{"/api/v1/accounts?limit=0", 400, `"code":"limit_invalid"`},
		{"/api/v1/accounts/Nobody", 404, `{"message":"account not found","code":"account_not_found"}`},
		{"/api/v1/accounts/%20Bob", 400, `"code":"account_invalid"`},
		{"/nowhere", 404, `"code":"not_found"`},
		{"/healthz", 200, `{"status":"ok"}`},
		{"/readyz", 200, `{"status":"ready","checks":{"accounts view":"ready","signups view":"ready"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, _ := doAs(t, h, operatorKey, "GET", tt.path, "")
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.want)
			}
		})
	}
}
