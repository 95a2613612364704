package run_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/run"
)

// After a session, GET /metrics gives the counts a user would check: the
// transfers made final by status and reason, the signups, the POSTs
// answered 201 and the consumer lag. The metrics are the process's, and
// the test process runs many processors over the tests, so the test
// compares the counts before and after, on a broker of its own: on a
// shared cluster, the processors of another process could take the
// partitions and count its transfers there.
func TestMetricsAfterASession(t *testing.T) {
	c := config(t, embeddedBroker(t), 2)
	// The lag watcher reads every StallAfter/4: soon enough to see it.
	c.StallAfter = 4 * time.Second
	ready, _ := start(t, c, run.Processors)
	var processor *api.Client
	select {
	case addr := <-ready:
		processor = api.NewClient("http://" + addr)
	case <-time.After(30 * time.Second):
		t.Fatal("processors did not serve HTTP within 30s")
	}
	cl := startAPIs(t, c)
	cl.Wait = 30 * time.Second

	type series struct {
		side   api.Side
		from   *api.Client
		name   string
		labels map[string]string
		delta  float64
	}
	checks := []series{
		{api.WriteSide, processor, "wallet_transfers_total", map[string]string{"status": "completed"}, 3},
		{api.WriteSide, processor, "wallet_transfers_total", map[string]string{"status": "rejected", "reason": wallet.ReasonInsufficientFunds}, 1},
		{api.WriteSide, processor, "wallet_signups_total", map[string]string{"outcome": "won"}, 2},
		{api.WriteSide, cl, "wallet_http_requests_total", map[string]string{"route": "/api/v1/transfers", "code": "201"}, 3},
		{api.WriteSide, cl, "wallet_http_requests_total", map[string]string{"route": "/api/v1/deposits", "code": "201"}, 1},
		{api.WriteSide, cl, "wallet_transfer_completion_seconds", nil, 4},
	}
	metric := func(s series) float64 {
		t.Helper()
		v, err := s.from.Metric(context.Background(), s.side, s.name, s.labels)
		if err != nil {
			t.Fatalf("%s%v: %v", s.name, s.labels, err)
		}
		return v
	}
	before := make([]float64, len(checks))
	for i, s := range checks {
		before[i] = metric(s)
	}

	signUp(t, cl, wallet.Money{}, "Alice", "Bob")
	ctx := context.Background()
	if a, err := cl.Deposit(ctx, uuid.New(), "Alice", wallet.Cents(1000)); err != nil || a.Status != http.StatusCreated {
		t.Fatalf("deposit: %d %s %v", a.Status, a.Body, err)
	}
	for _, tr := range []struct {
		from, to string
		cents    int64
		status   wallet.Status
	}{
		{"Alice", "Bob", 300, wallet.Completed},
		{"Bob", "Alice", 100, wallet.Completed},
		{"Bob", "Alice", 500, wallet.Rejected}, // Bob has 2.00
	} {
		a, err := cl.PostTransfer(ctx, wallet.Transfer{RequestID: uuid.New(), From: tr.from, To: tr.to, Amount: wallet.Cents(tr.cents)})
		if err != nil || a.Status != http.StatusCreated {
			t.Fatalf("POST %s -> %s: %d %s %v", tr.from, tr.to, a.Status, a.Body, err)
		}
		if got, err := a.TransferResponse(); err != nil || got.Status != tr.status {
			t.Fatalf("POST %s -> %s: %s %v, want %s", tr.from, tr.to, a.Body, err, tr.status)
		}
	}

	for i, s := range checks {
		if got := metric(s) - before[i]; got != s.delta {
			t.Errorf("%s%v went up by %v, want %v", s.name, s.labels, got, s.delta)
		}
	}

	// The lag watcher has read every group's lag: a series per group and
	// input partition.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := scrape(t, processor.URL)
		if strings.Contains(body, `wallet_consumer_lag_messages{group="accountant",partition="1",topic="wallet.payment"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lag of the accountant on wallet.payment/1 after 30s:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scrape returns the text of base's GET /metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}
