package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wallet/wallet"
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

// taken is a signup view in which every claim written loses: another
// claim of the name came first in the log. Its refusals are the signup
// group's decisions, which the API must not count again.
type taken struct{ *signups }

func (s taken) Send(ctx context.Context, key string, c wallet.Claim) error {
	first := c
	first.RequestID = uuid.New()
	return s.signups.Send(ctx, key, first)
}

// A claim the API answers 409 from the view, without writing it, is
// counted there, as decided by the view: a name taken, or a look-alike of
// it. The signup group never sees such a claim. One written and refused
// by the group is the group's to count.
func TestSignupRefusalsFromTheViewCounted(t *testing.T) {
	s := newSignups(nil)
	h := (&api.Server{Claims: s, Signups: s}).Handler()
	cl := api.NewClient(httptestServer(t, h))
	view := map[string]string{"outcome": "taken", "decided_by": "view"}
	refused := func() float64 {
		t.Helper()
		n, err := cl.Metric(t.Context(), api.WriteSide, "wallet_signups_total", view)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	post := func(h http.Handler, name string, status int) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"request_id": uuid.NewString(), "username": name})
		if got, resp, _ := do(t, h, "POST", "/api/v1/accounts", string(body)); got != status {
			t.Fatalf("POST %q: %d %s, want %d", name, got, resp, status)
		}
	}
	post(h, "Alice", http.StatusCreated)
	for _, tt := range []struct {
		name, why string
	}{
		{"alice", "the README's example"},
		{"аlice", "a look-alike (Cyrillic а), refused as taken rather than invalid"},
		{"Alice", "the same name again: a retry is another refusal"},
	} {
		before := refused()
		post(h, tt.name, http.StatusConflict)
		if got := refused() - before; got != 1 {
			t.Errorf("%q (%s): the refusals decided by the view went up by %v, want 1", tt.name, tt.why, got)
		}
	}

	before := refused()
	post((&api.Server{Claims: taken{s}, Signups: s}).Handler(), "Bob", http.StatusConflict)
	if got := refused() - before; got != 0 {
		t.Errorf("a claim written and refused by the group: the refusals decided by the view went up by %v, want 0", got)
	}
}

// Every series the API counts into is there from the first scrape, at
// zero until its first event: the reasons of the authentication failures
// and the signups refused from the view. (Here the other tests of the
// package may have counted some already; run's
// TestMetricsFromTheFirstScrape checks the values in a process of its
// own.)
func TestMetricsExistFromTheStart(t *testing.T) {
	resp, err := http.Get(httptestServer(t, (&api.Server{}).Handler()) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"__name__": "wallet_signups_total", "outcome": "taken", "decided_by": "view"},
	}
	for _, reason := range []string{"missing", "malformed", "unknown", "forbidden", "throttled"} {
		want = append(want, map[string]string{"__name__": "wallet_auth_failures_total", "reason": reason})
	}
	for _, w := range want {
		found := false
		for _, m := range families[w["__name__"]].GetMetric() {
			labels := map[string]string{"__name__": w["__name__"]}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			found = found || maps.Equal(labels, w)
		}
		if !found {
			t.Errorf("no series %v", w)
		}
	}
}
