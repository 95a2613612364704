package api_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// TestAllow asks every route of each side of the API with every method.
// A 405 must name in Allow the methods the resource serves (RFC 9110,
// 15.5.6), no more and no fewer: exactly those it answered with anything
// but 405. The table gives each route's methods, and must have a row for
// every pattern of the route table (Server.Routes), so that a route added
// there is checked here.
func TestAllow(t *testing.T) {
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}}
	s := newSignups(nil)
	acc := accounts{}
	sides := []struct {
		name string
		srv  *api.Server
		// allow is each route's Allow; "" for a route that serves every
		// method, and so never answers 405.
		allow map[string]string
	}{
		{"both sides (cmd/wallet)", &api.Server{Transfers: st, States: st, Claims: s, Signups: s, Accounts: acc, Operator: operatorKey}, map[string]string{
			"/":                                 "",
			"/healthz":                          "",
			"/readyz":                           "",
			"/metrics":                          "",
			"/api/v1/openapi.json":              "GET, HEAD",
			"/api/v1/transfers":                 "POST",
			"/api/v1/deposits":                  "POST",
			"/api/v1/withdrawals":               "POST",
			"/api/v1/transfers/{id}":            "GET, HEAD",
			"/api/v1/accounts":                  "GET, HEAD, POST",
			"/api/v1/accounts/{name}":           "GET, HEAD",
			"/api/v1/accounts/{name}/keys":      "GET, HEAD, POST",
			"/api/v1/accounts/{name}/keys/{id}": "DELETE",
		}},
		{"write side (cmd/emitter)", &api.Server{Transfers: st, States: st, Claims: s, Signups: s, Operator: operatorKey}, map[string]string{
			"/":                                 "",
			"/healthz":                          "",
			"/readyz":                           "",
			"/metrics":                          "",
			"/api/v1/openapi.json":              "GET, HEAD",
			"/api/v1/transfers":                 "POST",
			"/api/v1/deposits":                  "POST",
			"/api/v1/withdrawals":               "POST",
			"/api/v1/transfers/{id}":            "GET, HEAD",
			"/api/v1/accounts":                  "POST",
			"/api/v1/accounts/{name}/keys":      "GET, HEAD, POST",
			"/api/v1/accounts/{name}/keys/{id}": "DELETE",
		}},
		{"read side (cmd/view)", &api.Server{States: st, Signups: s, Accounts: acc, Operator: operatorKey}, map[string]string{
			"/":                       "",
			"/healthz":                "",
			"/readyz":                 "",
			"/metrics":                "",
			"/api/v1/openapi.json":    "GET, HEAD",
			"/api/v1/transfers/{id}":  "GET, HEAD",
			"/api/v1/accounts":        "GET, HEAD",
			"/api/v1/accounts/{name}": "GET, HEAD",
		}},
	}
	every := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	path := strings.NewReplacer("{id}", uuid.NewString(), "{name}", "alice")
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			routes := side.srv.Routes()
			if want := slices.Sorted(maps.Keys(side.allow)); !slices.Equal(routes, want) {
				t.Fatalf("routes %q, the table has %q", routes, want)
			}
			base := httptestServer(t, side.srv.Handler())
			for _, pattern := range routes {
				p := path.Replace(pattern)
				if pattern == "/" {
					p = "/no/such/endpoint"
				}
				want := every
				if side.allow[pattern] != "" {
					want = strings.Split(side.allow[pattern], ", ")
				}
				var served []string
				for _, method := range every {
					req, err := http.NewRequest(method, base+p, strings.NewReader(""))
					if err != nil {
						t.Fatal(err)
					}
					status, body, hdr := roundTrip(t, req)
					if status != http.StatusMethodNotAllowed {
						served = append(served, method)
						continue
					}
					if allow := hdr.Get("Allow"); !sameMethods(allow, want) {
						t.Errorf("%s %s: 405 with Allow %q, want %q (%s)", method, pattern, allow, side.allow[pattern], body)
					}
				}
				if !sameMethods(strings.Join(served, ", "), want) {
					t.Errorf("%s serves %q, want %q", pattern, served, want)
				}
			}
		})
	}
}

// sameMethods reports whether the Allow value allow names the methods of
// want, in any order.
func sameMethods(allow string, want []string) bool {
	got := strings.Split(allow, ",")
	for i := range got {
		got[i] = strings.TrimSpace(got[i])
	}
	slices.Sort(got)
	return slices.Equal(got, slices.Sorted(slices.Values(want)))
}
