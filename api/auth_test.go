package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// authWallet is a whole API over fakes with Alice, Bob and Carol signed
// up: Alice's first key revoked and a second one issued, and a transfer
// from Alice to Bob stored.
type authWallet struct {
	h    http.Handler
	keys map[string]string // by credential: none, wrong, other, revoked, right, operator
	sent uuid.UUID         // the transfer from Alice to Bob
}

func newAuthWallet(t *testing.T, sent uuid.UUID) authWallet {
	t.Helper()
	s := newSignups(nil)
	revoked := signUp(t, s, "Alice", wallet.Cents(1000))
	signUp(t, s, "Bob", wallet.Money{})
	carol := signUp(t, s, "Carol", wallet.Money{})
	right, hash, err := wallet.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	first := wallet.HashKey(revoked).ID()
	if err := s.SendKeyChange(t.Context(), wallet.KeyChange{RequestID: uuid.New(), Account: "alice", Issue: &hash, Revoke: first}); err != nil {
		t.Fatal(err)
	}
	wrong, _, err := wallet.NewKey("alice") // well-formed, and never issued
	if err != nil {
		t.Fatal(err)
	}
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}, decide: func(wallet.Transfer) (wallet.Status, string) { return wallet.Completed, "" }}
	if err := st.Send(t.Context(), wallet.Transfer{RequestID: sent, From: "Alice", To: "Bob", Amount: wallet.Cents(100)}); err != nil {
		t.Fatal(err)
	}
	h := (&api.Server{Transfers: st, States: st, Claims: s, Signups: s, Operator: operatorKey,
		Accounts: accounts{"alice": {}, "bob": {}, "carol": {}}}).Handler()
	return authWallet{h: h, sent: sent, keys: map[string]string{
		"none": "", "wrong": wrong, "other": carol, "revoked": revoked, "right": right, "operator": operatorKey,
	}}
}

// TestAuthorization asks every route that moves money or reads an
// account with each credential: none, a well-formed key never issued,
// another account's (Carol's), Alice's revoked key, Alice's key, and the
// operator's. "right" is Alice's: the route acts on Alice's account.
func TestAuthorization(t *testing.T) {
	credentials := []string{"none", "wrong", "other", "revoked", "right", "operator"}
	body := func(format string) func() string {
		return func() string { return fmt.Sprintf(format, uuid.New()) }
	}
	sent := uuid.New() // the transfer from Alice to Bob of each wallet
	tests := []struct {
		method, path string
		body         func() string
		want         []int // by credential, in the order above
	}{
		{"POST", "/api/v1/transfers", body(`{"request_id":"%s","from":"Alice","to":"Bob","amount":"1"}`), []int{401, 401, 403, 401, 201, 403}},
		{"POST", "/api/v1/transfers", body(`{"request_id":"%s","from":"@world","to":"Alice","amount":"1"}`), []int{401, 401, 403, 401, 403, 201}},
		{"POST", "/api/v1/transfers", body(`{"request_id":"%s","from":"Alice","to":"@world","amount":"1"}`), []int{401, 401, 403, 401, 201, 201}},
		{"POST", "/api/v1/deposits", body(`{"request_id":"%s","account":"Alice","amount":"1"}`), []int{401, 401, 403, 401, 403, 201}},
		{"POST", "/api/v1/withdrawals", body(`{"request_id":"%s","account":"Alice","amount":"1"}`), []int{401, 401, 403, 401, 201, 201}},
		{"GET", "/api/v1/transfers/" + sent.String(), nil, []int{401, 401, 403, 401, 200, 200}},
		{"GET", "/api/v1/accounts/ALICE", nil, []int{401, 401, 403, 401, 200, 200}},
		{"GET", "/api/v1/accounts", nil, []int{401, 401, 403, 401, 403, 200}},
		{"GET", "/api/v1/accounts/alice/keys", nil, []int{401, 401, 403, 401, 200, 200}},
		{"POST", "/api/v1/accounts/alice/keys", body(`{"request_id":"%s"}`), []int{401, 401, 403, 401, 201, 201}},
		// No such key: the credentials that may revoke Alice's keys get
		// as far as looking for it.
		{"DELETE", "/api/v1/accounts/alice/keys/000000000000", nil, []int{401, 401, 403, 401, 404, 404}},
		// Signing up needs no credential, and ignores one.
		{"POST", "/api/v1/accounts", func() string {
			return fmt.Sprintf(`{"request_id":"%s","username":"u%s"}`, uuid.New(), uuid.New().String()[:8])
		}, []int{201, 201, 201, 201, 201, 201}},
	}
	for _, tt := range tests {
		// A wallet per route: its three failures a credential stay below
		// the limit of failed authentications.
		w := newAuthWallet(t, sent)
		for i, cred := range credentials {
			t.Run(tt.method+" "+tt.path+" as "+cred, func(t *testing.T) {
				b := ""
				if tt.body != nil {
					b = tt.body()
				}
				status, resp, hdr := doAs(t, w.h, w.keys[cred], tt.method, tt.path, b)
				if status != tt.want[i] {
					t.Errorf("got %d %s, want %d", status, resp, tt.want[i])
				}
				switch status {
				case 401:
					if !strings.Contains(resp, `"code":"unauthenticated"`) || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("401 %s with WWW-Authenticate %q, want code unauthenticated and a Bearer challenge", resp, hdr.Get("WWW-Authenticate"))
					}
				case 403:
					if !strings.Contains(resp, `"code":"forbidden"`) {
						t.Errorf("403 %s, want code forbidden", resp)
					}
				}
			})
		}
	}
}

// TestKeyRotation issues a key that replaces the one in use: the old key
// stops working and the new one works; the answer carries the key once.
func TestKeyRotation(t *testing.T) {
	s := newSignups(nil)
	old := signUp(t, s, "Alice", wallet.Money{})
	h := (&api.Server{Claims: s, Signups: s, Accounts: accounts{"alice": {}}}).Handler()
	id := uuid.New()
	req := fmt.Sprintf(`{"request_id":"%s","replaces":"%s"}`, id, wallet.HashKey(old).ID())
	status, resp, _ := doAs(t, h, old, "POST", "/api/v1/accounts/alice/keys", req)
	var issued api.KeyResponse
	if err := json.Unmarshal([]byte(resp), &issued); status != 201 || err != nil || !strings.HasPrefix(issued.APIKey, wallet.KeyPrefix) {
		t.Fatalf("rotate: %d %s, want 201 with a key", status, resp)
	}
	if status, resp, _ := doAs(t, h, old, "GET", "/api/v1/accounts/alice", ""); status != 401 {
		t.Errorf("the replaced key read the account: %d %s, want 401", status, resp)
	}
	if status, resp, _ := doAs(t, h, issued.APIKey, "GET", "/api/v1/accounts/alice", ""); status != 200 {
		t.Errorf("the new key: %d %s, want 200", status, resp)
	}
	// The same request again is answered with the key's ID alone.
	status, resp, _ = doAs(t, h, issued.APIKey, "POST", "/api/v1/accounts/alice/keys", req)
	if status != 200 || strings.Contains(resp, "api_key") || !strings.Contains(resp, issued.ID) {
		t.Errorf("re-post: %d %s, want 200 with the key's ID and no key", status, resp)
	}
	// Revoked by DELETE, the key stops working by the time of the answer.
	if status, resp, _ := doAs(t, h, issued.APIKey, "DELETE", "/api/v1/accounts/alice/keys/"+issued.ID, ""); status != 204 {
		t.Fatalf("revoke: %d %s, want 204", status, resp)
	}
	if status, resp, _ := doAs(t, h, issued.APIKey, "GET", "/api/v1/accounts/alice", ""); status != 401 {
		t.Errorf("the revoked key: %d %s, want 401", status, resp)
	}
}

// TestTooManyKeys: an account holds at most wallet.MaxKeys keys.
func TestTooManyKeys(t *testing.T) {
	s := newSignups(nil)
	key := signUp(t, s, "Alice", wallet.Money{})
	h := (&api.Server{Claims: s, Signups: s}).Handler()
	for i := 1; i <= wallet.MaxKeys; i++ {
		status, resp, _ := doAs(t, h, key, "POST", "/api/v1/accounts/alice/keys", fmt.Sprintf(`{"request_id":"%s"}`, uuid.New()))
		want := 201
		if i == wallet.MaxKeys {
			want = 409
		}
		if status != want {
			t.Fatalf("key %d: %d %s, want %d", i+1, status, resp, want)
		}
	}
}

// TestFailedAuthenticationsAreThrottled: a client that keeps sending bad
// keys is answered 429 once its failures outrun the limit, and so is its
// next request with a good key, until its failures slow down.
func TestFailedAuthenticationsAreThrottled(t *testing.T) {
	s := newSignups(nil)
	good := signUp(t, s, "Alice", wallet.Money{})
	h := (&api.Server{Signups: s, Accounts: accounts{"alice": {}}}).Handler()
	srv := httptestServer(t, h)
	get := func(key string) (int, http.Header) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", srv+"/api/v1/accounts/alice", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		status, _, hdr := roundTrip(t, req)
		return status, hdr
	}
	throttled := 0
	for range 30 {
		if status, hdr := get("wlt_nonsense"); status == 429 {
			throttled++
			if hdr.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if throttled == 0 {
		t.Fatal("30 bad keys in a row were never answered 429")
	}
	if status, _ := get(good); status != 429 {
		t.Errorf("a good key right after: %d, want 429 while the failures have not slowed down", status)
	}
}

// TestAuthFailuresCounted: failures are counted by reason, with no key or
// name in any label.
func TestAuthFailuresCounted(t *testing.T) {
	w := newAuthWallet(t, uuid.New())
	cl := api.NewClient(httptestServer(t, w.h))
	ctx := t.Context()
	count := func(reason string) float64 {
		n, err := cl.Metric(ctx, api.WriteSide, "wallet_auth_failures_total", map[string]string{"reason": reason})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tt := range []struct {
		key, reason string
	}{
		{"", "missing"}, {"nonsense", "malformed"}, {w.keys["wrong"], "unknown"}, {w.keys["other"], "forbidden"},
	} {
		before := count(tt.reason)
		doAs(t, w.h, tt.key, "GET", "/api/v1/accounts/alice", "")
		if got := count(tt.reason) - before; got != 1 {
			t.Errorf("key %.12q: %s went up by %v, want 1", tt.key, tt.reason, got)
		}
	}
}
