package run_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/run"
)

// With the broker down, a POST answers 503 within a few seconds and the
// view keeps serving the last balances it had; once the broker is back the
// client's retry with the same request ID goes through, and every
// transfer is applied once.
func TestBrokerDown(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start("127.0.0.1:0", dir, broker.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	defer func() { b.Close() }()

	c := config(t, []string{addr}, 2)
	start(t, c, run.Processors)
	cl := startAPIs(t, c)
	signUp(t, cl, maxOverdraft, "down-alice", "down-bob")

	var want ledger.Ledger
	transfer := func(cents int64) wallet.Transfer {
		tr := wallet.Transfer{RequestID: uuid.New(), From: "down-alice", To: "down-bob", Amount: wallet.Cents(cents)}
		want.Apply(tr)
		return tr
	}
	if status, body := post(t, cl, transfer(100)); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	waitBalances(t, cl, &want, 60*time.Second)

	b.Close()
	during := transfer(200)
	began := time.Now()
	status, body := post(t, cl, during)
	took := time.Since(began)
	t.Logf("POST with the broker down: %d %s after %s", status, body, took.Round(time.Millisecond))
	if status != http.StatusServiceUnavailable || took > 10*time.Second {
		t.Errorf("POST with the broker down = %d %s after %s, want 503 within 10s", status, body, took)
	}
	if got := balance(t, cl, "down-bob"); got != "1.00" {
		t.Errorf("with the broker down the view shows down-bob at %q, want the last known 1.00", got)
	}

	b, err = broker.Start(addr, dir, broker.DefaultOptions())
	if err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	after := transfer(400)
	for _, tr := range []wallet.Transfer{during, after} {
		deadline := time.Now().Add(90 * time.Second)
		for {
			status, body := post(t, cl, tr)
			if status == http.StatusCreated {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("POST after the broker restart: still %d %s", status, body)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitBalances(t, cl, &want, 90*time.Second)
	// The views of both sides follow the tables again: every transfer's
	// status is final through the read side, and the write side answers a
	// re-post with the outcome.
	for _, tr := range []wallet.Transfer{during, after} {
		waitFinal(t, cl, tr.RequestID, wallet.Completed, "")
	}
	waiting := *cl
	waiting.Wait = 10 * time.Second
	postAndExpect(t, &waiting, after, wallet.Completed, "")
}
