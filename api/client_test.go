package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// newClient serves the real handler with fakes behind it, the write side
// and the read side on two servers, and returns a client of both that
// holds Alice's and Bob's keys.
func newClient(t *testing.T, tr *transfers, acc accounts) *api.Client {
	t.Helper()
	s := newSignups(nil)
	alice, bob := signUp(t, s, "Alice", wallet.Money{}), signUp(t, s, "Bob", wallet.Money{})
	write := httptest.NewServer((&api.Server{Transfers: tr, Claims: s, Signups: s}).Handler())
	t.Cleanup(write.Close)
	read := httptest.NewServer((&api.Server{Signups: s, Accounts: acc}).Handler())
	t.Cleanup(read.Close)
	cl := &api.Client{HTTPClient: write.Client(), URL: write.URL, ViewURL: read.URL}
	cl.SetKey("Alice", alice)
	cl.SetKey("Bob", bob)
	return cl
}

func TestClientPostTransfer(t *testing.T) {
	tr := &transfers{}
	cl := newClient(t, tr, accounts{})
	ctx := context.Background()
	want := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}

	a, err := cl.PostTransfer(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusCreated || a.Code() != "" {
		t.Fatalf("answer = %d %q %s, want 201", a.Status, a.Code(), a.Body)
	}
	got, err := a.Transfer()
	if err != nil || got.RequestID != want.RequestID || got.From != "Alice" || got.To != "Bob" || !got.Amount.Equal(want.Amount) {
		t.Errorf("Transfer() = %+v, %v; want %+v", got, err, want)
	}
	if len(tr.sent) != 1 {
		t.Errorf("server sent %d transfers, want 1", len(tr.sent))
	}

	t.Run("error code", func(t *testing.T) {
		a, err := cl.PostTransferJSON(ctx, []byte(`{"request_id":"x","from":"Alice","to":"Bob","amount":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != http.StatusBadRequest || a.Code() != "request_id_invalid" {
			t.Errorf("answer = %d %q, want 400 request_id_invalid", a.Status, a.Code())
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		tr.err = errors.New("Kafka is down")
		defer func() { tr.err = nil }()
		a, err := cl.PostTransfer(ctx, want)
		if err != nil || a.Status != http.StatusServiceUnavailable || a.Code() != "unavailable" {
			t.Errorf("answer = %d %q, %v; want 503 unavailable", a.Status, a.Code(), err)
		}
	})
	t.Run("no code", func(t *testing.T) {
		if got := (api.Answer{Status: 502, Body: []byte("Bad Gateway")}).Code(); got != "?" {
			t.Errorf("Code() = %q, want ?", got)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		down := &api.Client{URL: "http://127.0.0.1:1"}
		if _, err := down.PostTransfer(ctx, want); err == nil {
			t.Error("no error from a server that does not listen")
		}
	})
}

func TestClientAccount(t *testing.T) {
	cl := newClient(t, &transfers{}, accounts{"bob": {Balance: wallet.Cents(50)}})
	ctx := context.Background()
	acct, found, err := cl.Account(ctx, "Bob")
	if err != nil || !found || acct.Account != "Bob" || !acct.Balance.Equal(wallet.Cents(50)) || acct.Currency != "USD" {
		t.Errorf("Account(Bob) = %+v, %v, %v", acct, found, err)
	}
	_, _, err = cl.Account(ctx, " Bob")
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || se.Code() != "unauthenticated" {
		t.Errorf("Account(\" Bob\") = %v, want a 401 unauthenticated StatusError: no key is held for that name", err)
	}
	if _, found, err := cl.Account(ctx, "Nobody"); !errors.As(err, &se) || se.Status != http.StatusUnauthorized || found {
		t.Errorf("Account(Nobody) with no key of it = %v, %v; want 401", found, err)
	}
}

func TestClientPostAccount(t *testing.T) {
	cl := newClient(t, &transfers{}, accounts{})
	ctx := context.Background()
	a, err := cl.PostAccount(ctx, wallet.Claim{RequestID: uuid.MustParse(otherID), Username: "Carol", OverdraftLimit: wallet.Cents(500)})
	if err != nil || a.Status != http.StatusCreated {
		t.Fatalf("PostAccount(Carol) = %d %s, %v; want 201", a.Status, a.Body, err)
	}
	if acct, err := a.Account(); err != nil || acct.Account != "Carol" || acct.OverdraftLimit == nil || acct.OverdraftLimit.String() != "5.00" {
		t.Errorf("Account() = %+v, %v", acct, err)
	}
	a, err = cl.PostAccount(ctx, wallet.Claim{RequestID: uuid.MustParse(otherID), Username: "bob"})
	if err != nil || a.Status != http.StatusConflict || a.Code() != "username_taken" {
		t.Errorf("PostAccount(bob) = %d %s, %v; want 409 username_taken", a.Status, a.Body, err)
	}
}

func TestClientHealthReadyMetric(t *testing.T) {
	cl := newClient(t, &transfers{}, accounts{})
	ctx := context.Background()
	for _, s := range []api.Side{api.WriteSide, api.ReadSide} {
		if err := cl.Health(ctx, s); err != nil {
			t.Errorf("Health(%d) = %v", s, err)
		}
		if err := cl.Ready(ctx, s); err != nil {
			t.Errorf("Ready(%d) = %v", s, err)
		}
	}
	seen := promauto.NewCounterVec(prometheus.CounterOpts{Name: "client_test_seen_total", Help: "A test's."}, []string{"side"})
	seen.WithLabelValues("a").Add(7)
	seen.WithLabelValues("b").Add(2)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"client_test_seen_total", map[string]string{"side": "a"}, 7},
		{"client_test_seen_total", nil, 9},
		{"client_test_seen_total", map[string]string{"side": "c"}, 0},
		{"client_test_never_total", nil, 0},
	} {
		if n, err := cl.Metric(ctx, api.ReadSide, tt.name, tt.labels); err != nil || n != tt.want {
			t.Errorf("Metric(%s, %v) = %v, %v; want %v", tt.name, tt.labels, n, err, tt.want)
		}
	}
}

func TestClientReadSideDefaultsToURL(t *testing.T) {
	s := newSignups(nil)
	bob := signUp(t, s, "Bob", wallet.Money{})
	srv := httptest.NewServer((&api.Server{Transfers: &transfers{}, Signups: s, Accounts: accounts{"bob": {}}}).Handler())
	defer srv.Close()
	cl := api.NewClient(srv.URL)
	cl.SetKey("bob", bob)
	if _, found, err := cl.Account(context.Background(), "Bob"); err != nil || !found {
		t.Errorf("Account(Bob) on one server = %v, %v", found, err)
	}
}

// scripted serves POSTs with the statuses of script in turn, the last one
// for ever; 0 closes the connection without an answer. It records every
// body it received.
type scripted struct {
	mu     sync.Mutex
	script []int
	bodies []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	status := s.script[min(len(s.bodies), len(s.script))-1]
	s.mu.Unlock()
	if status == 0 {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":"status_%d"}`, status)
}

func (s *scripted) posts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// serveScript returns a client of a server that answers as script says.
func serveScript(t *testing.T, r *api.Retry, script ...int) (*api.Client, *scripted) {
	t.Helper()
	s := &scripted{script: script}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &api.Client{URL: srv.URL, Retry: r}, s
}

func TestClientRetry(t *testing.T) {
	ctx := context.Background()
	tr := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}

	t.Run("503 and no answer are posted again with the same body", func(t *testing.T) {
		var seen []string
		r := &api.Retry{Backoff: time.Millisecond, OnAnswer: func(a api.Answer, err error, took time.Duration) {
			if err != nil {
				seen = append(seen, "error")
				return
			}
			seen = append(seen, strconv.Itoa(a.Status))
		}}
		cl, s := serveScript(t, r, 503, 0, 201)
		a, err := cl.PostTransfer(ctx, tr)
		if err != nil || a.Status != http.StatusCreated {
			t.Fatalf("PostTransfer = %d, %v; want 201", a.Status, err)
		}
		posts := s.posts()
		if len(posts) != 3 || posts[0] != posts[1] || posts[1] != posts[2] || !strings.Contains(posts[0], primerID) {
			t.Errorf("posted %q, want the same body with the request ID three times", posts)
		}
		if got := strings.Join(seen, " "); got != "503 error 201" {
			t.Errorf("OnAnswer saw %q, want 503 error 201", got)
		}
	})
	t.Run("a refusal ends the retries", func(t *testing.T) {
		cl, s := serveScript(t, &api.Retry{Backoff: time.Millisecond}, 400, 201)
		if a, err := cl.PostTransfer(ctx, tr); err != nil || a.Status != http.StatusBadRequest || len(s.posts()) != 1 {
			t.Errorf("PostTransfer = %d, %v after %d posts; want 400 after 1", a.Status, err, len(s.posts()))
		}
	})
	t.Run("202 is posted again only with Pending", func(t *testing.T) {
		claim := wallet.Claim{RequestID: uuid.MustParse(otherID), Username: "Carol"}
		cl, s := serveScript(t, &api.Retry{Backoff: time.Millisecond}, 202, 201)
		if a, err := cl.PostAccount(ctx, claim); err != nil || a.Status != http.StatusAccepted || len(s.posts()) != 1 {
			t.Errorf("without Pending: PostAccount = %d, %v after %d posts; want 202 after 1", a.Status, err, len(s.posts()))
		}
		cl, s = serveScript(t, &api.Retry{Backoff: time.Millisecond, Pending: true}, 202, 201)
		if a, err := cl.PostAccount(ctx, claim); err != nil || a.Status != http.StatusCreated || len(s.posts()) != 2 {
			t.Errorf("with Pending: PostAccount = %d, %v after %d posts; want 201 after 2", a.Status, err, len(s.posts()))
		}
	})
	t.Run("Posts bounds the retries", func(t *testing.T) {
		cl, s := serveScript(t, &api.Retry{Backoff: time.Millisecond, Posts: 3}, 503)
		if a, err := cl.Deposit(ctx, uuid.New(), "Bob", wallet.Cents(1)); err != nil || a.Status != http.StatusServiceUnavailable || len(s.posts()) != 3 {
			t.Errorf("Deposit = %d, %v after %d posts; want 503 after 3", a.Status, err, len(s.posts()))
		}
	})
	t.Run("For bounds the retries", func(t *testing.T) {
		cl, s := serveScript(t, &api.Retry{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, For: 50 * time.Millisecond}, 503)
		start := time.Now()
		a, err := cl.Withdraw(ctx, uuid.New(), "Bob", wallet.Cents(1))
		if err != nil || a.Status != http.StatusServiceUnavailable || len(s.posts()) < 2 {
			t.Errorf("Withdraw = %d, %v after %d posts; want 503 after several", a.Status, err, len(s.posts()))
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("retried for %s, bounded at 50ms", took)
		}
	})
	t.Run("ctx ends the retries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		posts := 0
		r := &api.Retry{Backoff: time.Millisecond, OnAnswer: func(api.Answer, error, time.Duration) {
			if posts++; posts == 2 {
				cancel()
			}
		}}
		cl, _ := serveScript(t, r, 503)
		a, err := cl.PostTransfer(ctx, tr)
		if !errors.Is(err, context.Canceled) || a.Status != http.StatusServiceUnavailable || posts != 2 {
			t.Errorf("PostTransfer = %d, %v after %d posts; want the last 503 and context.Canceled after 2", a.Status, err, posts)
		}
	})
	t.Run("WithRetry shares the keys", func(t *testing.T) {
		cl := api.NewClient("http://127.0.0.1:1")
		retrying := cl.WithRetry(&api.Retry{Posts: 2})
		retrying.SetKey("Carol", "key-of-carol")
		if cl.Key("Carol") != "key-of-carol" || cl.Retry != nil || retrying.Retry.Posts != 2 {
			t.Errorf("copy: key %q in the original, Retry %v; want the key, and nil", cl.Key("Carol"), cl.Retry)
		}
	})
	t.Run("without Retry a POST is sent once", func(t *testing.T) {
		cl, s := serveScript(t, nil, 503, 201)
		if a, err := cl.PostTransfer(ctx, tr); err != nil || a.Status != http.StatusServiceUnavailable || len(s.posts()) != 1 {
			t.Errorf("PostTransfer = %d, %v after %d posts; want 503 after 1", a.Status, err, len(s.posts()))
		}
	})
}
