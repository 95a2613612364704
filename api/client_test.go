package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

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
