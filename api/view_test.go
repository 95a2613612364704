package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/viewtest"
	"github.com/wallet/wallet/topology"
)

// publish writes what the signup group decided for key to the view's
// table, as its changelog would.
func publish(tt *tester.Tester, decided *signups, key string) {
	decided.mu.Lock()
	s := decided.won[key]
	decided.mu.Unlock()
	tt.Consume(string(topology.SignupTable), key, s)
}

// The signup view decodes each value's bytes once (views/memo.go). A key
// revoked is refused at the first request after the view holds the
// revocation, and a key issued works at once, as when every read decoded.
func TestKeysWithTheSignupView(t *testing.T) {
	tt := tester.New(t)
	view := viewtest.Signups(t, tt)
	decided := newSignups(nil)
	first := signUp(t, decided, "Alice", wallet.Cents(1000))
	bobs := signUp(t, decided, "Bob", wallet.Money{})
	publish(tt, decided, "alice")
	publish(tt, decided, "bob")
	h := (&api.Server{Transfers: &transfers{}, Signups: view}).Handler()
	post := func(key string) int {
		t.Helper()
		status, _, _ := doAs(t, h, key, "POST", "/api/v1/transfers",
			fmt.Sprintf(`{"request_id":%q,"from":"Alice","to":"Bob","amount":"1.00"}`, uuid.New()))
		return status
	}
	for range 2 { // decoded, then remembered
		if status := post(first); status != 201 {
			t.Fatalf("Alice's key: %d, want 201", status)
		}
	}
	if status := post(bobs); status != 403 {
		t.Errorf("Bob's key for Alice's money: %d, want 403", status)
	}

	second, hash, err := wallet.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := decided.SendKeyChange(t.Context(), wallet.KeyChange{RequestID: uuid.New(), Account: "alice", Issue: &hash}); err != nil {
		t.Fatal(err)
	}
	publish(tt, decided, "alice")
	if a, b := post(first), post(second); a != 201 || b != 201 {
		t.Fatalf("after the second key was issued: the first %d, the second %d, want 201 both", a, b)
	}

	revoke := wallet.KeyChange{RequestID: uuid.New(), Account: "alice", Revoke: wallet.HashKey(first).ID()}
	if err := decided.SendKeyChange(t.Context(), revoke); err != nil {
		t.Fatal(err)
	}
	publish(tt, decided, "alice")
	if status := post(first); status != 401 {
		t.Errorf("the revoked key: %d, want 401", status)
	}
	if status := post(second); status != 201 {
		t.Errorf("the key kept: %d, want 201", status)
	}
}

// discard acknowledges every transfer at once.
type discard struct{}

func (discard) Send(context.Context, wallet.Transfer) error { return nil }

// BenchmarkPostTransfer serves POST /api/v1/transfers as a load does, with
// the signup view itself: the caller's, the sender's and the recipient's
// signups are read for every POST. 1,000 accounts pay one another in turn.
//
//	go test -run '^$' -bench PostTransfer -benchmem ./api/
func BenchmarkPostTransfer(b *testing.B) {
	tt := tester.New(b)
	view := viewtest.Signups(b, tt)
	const n = 1000
	apiKeys := make([]string, n)
	for i := range apiKeys {
		name := fmt.Sprintf("lg-%d", i)
		key, err := wallet.AccountKey(name)
		if err != nil {
			b.Fatal(err)
		}
		apiKey, hash, err := wallet.NewKey(key)
		if err != nil {
			b.Fatal(err)
		}
		apiKeys[i] = apiKey
		id := uuid.NewSHA1(uuid.Nil, []byte(key))
		tt.SetTableValue(topology.SignupTable, key, wallet.Signup{
			Claim:      wallet.Claim{RequestID: id, Username: name, OverdraftLimit: wallet.Cents(100000), KeyHash: &hash},
			Offset:     int64(i),
			Keys:       []wallet.Key{{Hash: hash, RequestID: id}},
			NextOffset: int64(i) + 1,
		})
	}
	h := (&api.Server{Transfers: discard{}, Signups: view}).Handler()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		from, to := i%n, (i+1)%n
		body := fmt.Sprintf(`{"request_id":%q,"from":"lg-%d","to":"lg-%d","amount":"1.00"}`, uuid.New(), from, to)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/transfers", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKeys[from])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("POST: %d %s", rec.Code, rec.Body)
		}
		i++
	}
}
