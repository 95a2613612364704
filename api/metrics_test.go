package api_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet/api"
)

// A request is counted under the pattern it matched, not its path: a GET
// of any transfer is one series, so request IDs make no new ones.
func TestHTTPMetricsByRoute(t *testing.T) {
	srv, _, keys := newWallet(t)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cl := api.NewClient(ts.URL)
	cl.Operator = keys["operator"]
	ctx := context.Background()
	route := map[string]string{"route": "/api/v1/transfers/{id}", "code": "404"}
	before, err := cl.Metric(ctx, api.WriteSide, "wallet_http_requests_total", route)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, found, err := cl.Transfer(ctx, uuid.New()); err != nil || found {
			t.Fatalf("GET an unknown transfer: found %v, %v", found, err)
		}
	}
	after, err := cl.Metric(ctx, api.WriteSide, "wallet_http_requests_total", route)
	if err != nil || after-before != 3 {
		t.Errorf("wallet_http_requests_total%v went up by %v, %v; want 3", route, after-before, err)
	}
}
