package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// states is paymentd and its view at once: a transfer sent is stored
// pending, and decide makes it final.
type states struct {
	mu     sync.Mutex
	stored map[uuid.UUID]wallet.TransferState
	sent   int
	decide func(t wallet.Transfer) (wallet.Status, string) // nil leaves it pending
}

func (s *states) Send(ctx context.Context, t wallet.Transfer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if _, ok := s.stored[t.RequestID]; !ok {
		st := wallet.TransferState{Transfer: t, Status: wallet.Pending}
		if s.decide != nil {
			st.Status, st.Reason = s.decide(t)
		}
		s.stored[t.RequestID] = st
	}
	return nil
}

func (s *states) Transfer(id uuid.UUID) (wallet.TransferState, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stored[id]
	return st, ok, nil
}

func (s *states) Recovered() bool { return true }

// newWallet returns a write side whose paymentd completes every transfer
// under 100.00 and rejects the others, with Alice and Bob signed up, and
// Alice's, Bob's and the operator's keys.
func newWallet(t *testing.T) (*api.Server, *states, map[string]string) {
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}, decide: func(t wallet.Transfer) (wallet.Status, string) {
		if t.Amount.GreaterThan(wallet.Cents(10000)) {
			return wallet.Rejected, wallet.ReasonInsufficientFunds
		}
		return wallet.Completed, ""
	}}
	signups := newSignups(nil)
	keys := map[string]string{
		"alice":    signUp(t, signups, "Alice", wallet.Money{}),
		"bob":      signUp(t, signups, "Bob", wallet.Money{}),
		"operator": operatorKey,
	}
	return &api.Server{Transfers: st, States: st, Signups: signups, Operator: operatorKey}, st, keys
}

func TestPostTransferLifecycle(t *testing.T) {
	srv, st, keys := newWallet(t)
	h := srv.Handler()
	primer := `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0.5"}`
	seed := `{"request_id":"` + primerID + `","from":"Alice","amount":"0.50","to":"Bob"}`
	tests := []struct {
		name   string
		path   string
		prefer string
		body   string
		status int
		want   string
		as     string // whose key authenticates the request
	}{
		{"the primer", "/api/v1/transfers", "", primer, 201, seed, "alice"},
		{"the primer again", "/api/v1/transfers", "", primer, 201, seed, "alice"},
		{"the primer again, spelled otherwise", "/api/v1/transfers", "", `{"request_id":"` + primerID + `","from":"ALICE","to":"bob","amount":0.50}`, 201, seed, "alice"},
		{"the primer again, waiting", "/api/v1/transfers", "wait=5", primer, 201, `{"request_id":"` + primerID + `","from":"Alice","amount":"0.50","to":"Bob","status":"completed"}`, "alice"},
		{"the request ID for another transfer", "/api/v1/transfers", "", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0.51"}`, 409, `"code":"request_id_conflict"`, "alice"},
		{"to a name never signed up", "/api/v1/transfers", "", `{"request_id":"` + otherID + `","from":"Alice","to":"Carol","amount":"1"}`, 404, `{"message":"account \"Carol\" not found","code":"account_not_found"}`, "alice"},
		{"rejected, waiting", "/api/v1/transfers", "respond-async, wait=3", `{"request_id":"` + otherID + `","from":"Alice","to":"Bob","amount":"100.01"}`, 201, `"status":"rejected","reason":"insufficient_funds"}`, "alice"},
		{"a deposit", "/api/v1/deposits", "wait=1", `{"request_id":"00000000-0000-4000-8000-000000000001","account":"alice","amount":"5"}`, 201, `{"request_id":"00000000-0000-4000-8000-000000000001","from":"@world","amount":"5.00","to":"alice","status":"completed"}`, "operator"},
		{"a withdrawal", "/api/v1/withdrawals", "", `{"request_id":"00000000-0000-4000-8000-000000000002","account":"Bob","amount":"5"}`, 201, `{"request_id":"00000000-0000-4000-8000-000000000002","from":"Bob","amount":"5.00","to":"@world"}`, "bob"},
		{"a deposit to nobody", "/api/v1/deposits", "", `{"request_id":"00000000-0000-4000-8000-000000000003","amount":"5"}`, 400, `"code":"account_required"`, "operator"},
		{"a deposit to the world", "/api/v1/deposits", "", `{"request_id":"00000000-0000-4000-8000-000000000003","account":"@World","amount":"5"}`, 400, `"code":"same_account"`, "operator"},
		{"a deposit of nothing", "/api/v1/deposits", "", `{"request_id":"00000000-0000-4000-8000-000000000003","account":"Bob","amount":"0"}`, 400, `"code":"amount_lt_min"`, "operator"},
		{"from a reserved name", "/api/v1/transfers", "", `{"request_id":"00000000-0000-4000-8000-000000000003","from":"@bank","to":"Bob","amount":"1"}`, 400, `"code":"account_invalid"`, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptestServer(t, h)
			req, _ := http.NewRequest("POST", srv+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+keys[tt.as])
			if tt.prefer != "" {
				req.Header.Set("Prefer", tt.prefer)
			}
			status, body, hdr := roundTrip(t, req)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.want)
			}
			if status == 201 && !strings.HasPrefix(hdr.Get("Location"), "/api/v1/transfers/") {
				t.Errorf("Location = %q", hdr.Get("Location"))
			}
		})
	}
	if st.sent != 4 {
		t.Errorf("%d transfers sent to Kafka, want 4: re-posts and conflicts are answered from the state", st.sent)
	}

	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/transfers/" + primerID, 200, `{"request_id":"` + primerID + `","from":"Alice","amount":"0.50","to":"Bob","status":"completed"}`},
		{"/api/v1/transfers/" + strings.ToUpper(primerID), 200, `"status":"completed"`},
		{"/api/v1/transfers/" + otherID, 200, `"status":"rejected","reason":"insufficient_funds"`},
		{"/api/v1/transfers/00000000-0000-4000-8000-000000000009", 404, `{"message":"transfer not found","code":"transfer_not_found"}`},
		{"/api/v1/transfers/42", 400, `"code":"request_id_invalid"`},
	} {
		if status, body, _ := doAs(t, h, keys["alice"], "GET", tt.path, ""); status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s, want %d %s", tt.path, status, body, tt.status, tt.want)
		}
	}
}

// A request ID re-used while the view did not know its first transfer yet
// is stored, and paymentd keeps the first: a client that waits learns of
// the conflict.
func TestPostTransferConflictFoundWhileWaiting(t *testing.T) {
	srv, st, keys := newWallet(t)
	first := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	lagging := &laggingStates{states: st, hidden: 1}
	srv.States = lagging
	if err := st.Send(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", httptestServer(t, srv.Handler())+"/api/v1/transfers",
		strings.NewReader(`{"request_id":"`+primerID+`","from":"Alice","to":"Bob","amount":"7.00"}`))
	req.Header.Set("Prefer", "wait=5")
	req.Header.Set("Authorization", "Bearer "+keys["alice"])
	status, body, _ := roundTrip(t, req)
	if status != http.StatusConflict || !strings.Contains(body, `"code":"request_id_conflict"`) {
		t.Errorf("got %d %s, want 409 request_id_conflict", status, body)
	}
}

// laggingStates is a view that does not show its first hidden reads.
type laggingStates struct {
	*states
	mu     sync.Mutex
	hidden int
}

func (l *laggingStates) Transfer(id uuid.UUID) (wallet.TransferState, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hidden > 0 {
		l.hidden--
		return wallet.TransferState{}, false, nil
	}
	return l.states.Transfer(id)
}

// With no outcome within the wait, the answer is 202 with the transfer
// pending.
func TestPostTransferWaitTimesOut(t *testing.T) {
	srv, st, keys := newWallet(t)
	st.decide = nil
	h := srv.Handler()
	began := time.Now()
	req, _ := http.NewRequest("POST", httptestServer(t, h)+"/api/v1/transfers",
		strings.NewReader(`{"request_id":"`+primerID+`","from":"Alice","to":"Bob","amount":"1"}`))
	req.Header.Set("Prefer", "wait=1")
	req.Header.Set("Authorization", "Bearer "+keys["alice"])
	status, body, hdr := roundTrip(t, req)
	if status != http.StatusAccepted || !strings.Contains(body, `"status":"pending"`) || hdr.Get("Location") != "/api/v1/transfers/"+primerID {
		t.Errorf("got %d %s (Location %q), want 202 pending", status, body, hdr.Get("Location"))
	}
	if took := time.Since(began); took < time.Second {
		t.Errorf("answered after %s, want to wait 1s", took)
	}
}
