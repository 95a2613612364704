package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/views"
)

// loadOpenAPI loads and validates api/openapi.json.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// brokenStates is a transfers view that cannot be read yet.
type brokenStates struct{}

func (brokenStates) Transfer(id uuid.UUID) (wallet.TransferState, bool, error) {
	return wallet.TransferState{}, false, errors.New("not recovered")
}
func (brokenStates) Recovered() bool { return false }

// brokenAccounts is an accounts view that cannot be read yet.
type brokenAccounts struct{}

func (brokenAccounts) Account(key string) (wallet.Account, bool, error) {
	return wallet.Account{}, false, errors.New("not recovered")
}
func (brokenAccounts) Recovered() bool { return false }

// failingSignups is a signups view that cannot be read.
type failingSignups struct{}

func (failingSignups) Signup(key string) (wallet.Signup, bool, error) {
	return wallet.Signup{}, false, errors.New("not recovered")
}
func (failingSignups) After(after string, limit int) ([]views.Keyed, string, error) {
	return nil, "", errors.New("not recovered")
}
func (failingSignups) Recovered() bool { return false }

// TestOpenAPI drives a session through the handler and checks every
// request that the API accepts and every answer against api/openapi.json,
// so that the document cannot drift from the handlers.
func TestOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	// The wallet: paymentd completes transfers up to 100.00 and rejects
	// the others; the signup group decides every claim at once.
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}, decide: func(t wallet.Transfer) (wallet.Status, string) {
		if t.Amount.GreaterThan(wallet.Cents(10000)) {
			return wallet.Rejected, wallet.ReasonInsufficientFunds
		}
		return wallet.Completed, ""
	}}
	sg := newSignups(nil)
	// Partitions set: GET /api/v1/transfers/{id} answers with the
	// transfer's partitions, checked against the document too.
	up := httptestServer(t, (&api.Server{
		Transfers: st, States: st, Claims: sg, Signups: sg, Partitions: 4,
		Accounts: accounts{"alice": {Balance: wallet.Cents(-50)}, "bob": {Balance: wallet.Cents(50)}, wallet.World: {}},
	}).Handler())
	// A wallet whose processors decide nothing in time.
	slow := &states{stored: map[uuid.UUID]wallet.TransferState{}}
	never := undecided{newSignups(map[string]wallet.Signup{
		"alice": {Claim: wallet.Claim{Username: "Alice"}},
		"bob":   {Claim: wallet.Claim{Username: "Bob"}},
	})}
	pending := httptestServer(t, (&api.Server{
		Transfers: slow, States: slow, Claims: never, Signups: never, DecisionTimeout: time.Millisecond,
	}).Handler())
	// A wallet whose Kafka does not acknowledge and whose views are
	// recovering.
	down := httptestServer(t, (&api.Server{
		Transfers: &transfers{err: errors.New("timeout")}, Claims: &signups{err: errors.New("timeout")},
		Signups: failingSignups{}, States: brokenStates{}, Accounts: brokenAccounts{},
	}).Handler())

	const (
		aliceID = "00000000-0000-4000-8000-00000000000a"
		bobID   = "00000000-0000-4000-8000-00000000000b"
		t1      = "00000000-0000-4000-8000-000000000001"
		t2      = "00000000-0000-4000-8000-000000000002"
		t3      = "00000000-0000-4000-8000-000000000003"
		t4      = "00000000-0000-4000-8000-000000000004"
		t5      = "00000000-0000-4000-8000-000000000005"
	)
	transfer := func(id, from, to, amount string) string {
		return `{"request_id":"` + id + `","from":"` + from + `","to":"` + to + `","amount":` + amount + `}`
	}
	tests := []struct {
		name   string
		server string
		method string
		path   string
		prefer string
		body   string
		status int
		code   string // of an error
	}{
		{"sign up Alice", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice","overdraft_limit":"100"}`, 201, ""},
		{"sign up Bob", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + bobID + `","username":"Bob"}`, 201, ""},
		{"sign up Alice again", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice","overdraft_limit":100}`, 201, ""},
		{"claim a taken name", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"ALICE"}`, 409, wallet.EUsernameTaken},
		{"sign up again with another limit", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice"}`, 409, wallet.ERequestIDConflict},
		{"sign up a reserved name", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"@bank"}`, 400, wallet.EUsernameInvalid},
		{"sign up below zero", up, "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"Carol","overdraft_limit":"-1"}`, 400, wallet.EOverdraftLimitInvalid},
		{"sign up without JSON", up, "POST", "/api/v1/accounts", "", `username=Carol`, 400, wallet.EInvalidJSON},

		{"transfer", up, "POST", "/api/v1/transfers", "", transfer(t1, "Alice", "Bob", `"0.5"`), 201, ""},
		{"transfer again, waiting", up, "POST", "/api/v1/transfers", "wait=5", transfer(t1, "alice", "BOB", `0.50`), 201, ""},
		{"transfer rejected, waiting", up, "POST", "/api/v1/transfers", "respond-async, wait=5", transfer(t2, "Alice", "Bob", `"100.01"`), 201, ""},
		{"request ID of another transfer", up, "POST", "/api/v1/transfers", "", transfer(t1, "Alice", "Bob", `"0.51"`), 409, wallet.ERequestIDConflict},
		{"to a name never signed up", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Carol", `"1"`), 404, wallet.EAccountNotFound},
		{"bad JSON", up, "POST", "/api/v1/transfers", "", `{"from":`, 400, wallet.EInvalidJSON},
		{"bad request ID", up, "POST", "/api/v1/transfers", "", transfer("x", "Alice", "Bob", `"1"`), 400, wallet.ERequestIDInvalid},
		{"no sender", up, "POST", "/api/v1/transfers", "", transfer(t3, "", "Bob", `"1"`), 400, wallet.EFromRequired},
		{"no recipient", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", " ", `"1"`), 400, wallet.EToRequired},
		{"reserved name", up, "POST", "/api/v1/transfers", "", transfer(t3, "@bank", "Bob", `"1"`), 400, wallet.EAccountInvalid},
		{"one account", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "alice", `"1"`), 400, wallet.ESameAccount},
		{"three places", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `"0.001"`), 400, wallet.EAmountInvalid},
		{"nothing", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `0`), 400, wallet.EAmountLtMin},
		{"too much", up, "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `"1000000000.01"`), 400, wallet.EAmountGtMax},
		{"too large a body", up, "POST", "/api/v1/transfers", "", `{"from":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, api.EBodyTooLarge},
		{"GET of a POST path", up, "GET", "/api/v1/transfers", "", "", 405, api.EMethodNotAllowed},

		{"deposit, waiting", up, "POST", "/api/v1/deposits", "wait=1", `{"request_id":"` + t3 + `","account":"alice","amount":"5"}`, 201, ""},
		{"withdrawal", up, "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t4 + `","account":"Bob","amount":1}`, 201, ""},
		{"deposit to nobody", up, "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","amount":"5"}`, 400, api.EAccountRequired},
		{"deposit to the world", up, "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","account":"@World","amount":"5"}`, 400, wallet.ESameAccount},
		{"withdrawal from nobody", up, "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t5 + `","account":"Carol","amount":"5"}`, 404, wallet.EAccountNotFound},

		{"completed transfer", up, "GET", "/api/v1/transfers/" + t1, "", "", 200, ""},
		{"rejected transfer", up, "GET", "/api/v1/transfers/" + strings.ToUpper(t2), "", "", 200, ""},
		{"unknown transfer", up, "GET", "/api/v1/transfers/" + t5, "", "", 404, wallet.ETransferNotFound},
		{"not a request ID", up, "GET", "/api/v1/transfers/x", "", "", 400, wallet.ERequestIDInvalid},
		{"DELETE a transfer", up, "DELETE", "/api/v1/transfers/" + t1, "", "", 405, api.EMethodNotAllowed},

		{"account", up, "GET", "/api/v1/accounts/ALICE", "", "", 200, ""},
		{"the world", up, "GET", "/api/v1/accounts/@world", "", "", 200, ""},
		{"no account", up, "GET", "/api/v1/accounts/Carol", "", "", 404, wallet.EAccountNotFound},
		{"not an account name", up, "GET", "/api/v1/accounts/%20Bob", "", "", 400, wallet.EAccountInvalid},
		{"first page", up, "GET", "/api/v1/accounts?limit=1", "", "", 200, ""},
		{"next page", up, "GET", "/api/v1/accounts?after=alice&limit=1", "", "", 200, ""},
		{"all accounts", up, "GET", "/api/v1/accounts", "", "", 200, ""},
		{"limit 0", up, "GET", "/api/v1/accounts?limit=0", "", "", 400, api.ELimitInvalid},
		{"after a reserved name", up, "GET", "/api/v1/accounts?after=@bank", "", "", 400, wallet.EAccountInvalid},
		{"PUT accounts", up, "PUT", "/api/v1/accounts", "", "{}", 405, api.EMethodNotAllowed},

		{"health", up, "GET", "/healthz", "", "", 200, ""},
		{"ready", up, "GET", "/readyz", "", "", 200, ""},
		{"metrics", up, "GET", "/metrics", "", "", 200, ""},
		{"the document", up, "GET", "/api/v1/openapi.json", "", "", 200, ""},
		{"no such path", up, "GET", "/api/v2/transfers", "", "", 404, api.ENotFound},

		{"transfer pending", pending, "POST", "/api/v1/transfers", "wait=1", transfer(t1, "Alice", "Bob", `"0.5"`), 202, ""},
		{"signup pending", pending, "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"Carol"}`, 202, ""},

		{"transfer not acknowledged", down, "POST", "/api/v1/transfers", "", transfer(t1, "Alice", "Bob", `"0.5"`), 503, wallet.EUnavailable},
		{"signup not acknowledged", down, "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice"}`, 503, wallet.EUnavailable},
		{"transfers view recovering", down, "GET", "/api/v1/transfers/" + t1, "", "", 503, wallet.EUnavailable},
		{"accounts view recovering", down, "GET", "/api/v1/accounts/Alice", "", "", 503, wallet.EUnavailable},
		{"list while recovering", down, "GET", "/api/v1/accounts", "", "", 503, wallet.EUnavailable},
		{"not ready", down, "GET", "/readyz", "", "", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newRequest := func() *http.Request {
				req, err := http.NewRequest(tt.method, tt.server+tt.path, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				if tt.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tt.prefer != "" {
					req.Header.Set("Prefer", tt.prefer)
				}
				return req
			}
			status, body, hdr := roundTrip(t, newRequest())
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" && !strings.Contains(body, `"code":"`+tt.code+`"`) {
				t.Errorf("body %s, want code %s", body, tt.code)
			}

			// The same request again for the validator, whose body the
			// client has sent.
			req := newRequest()
			route, params, err := router.FindRoute(req)
			switch {
			case err == nil:
			case errors.Is(err, routers.ErrMethodNotAllowed) && status == http.StatusMethodNotAllowed:
				route = fallback(doc, req, status, "MethodNotAllowed")
			case errors.Is(err, routers.ErrPathNotFound) && status == http.StatusNotFound:
				route = fallback(doc, req, status, "NotFound")
			default:
				t.Fatalf("%s %s is not in the document: %v", tt.method, tt.path, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
			// A request the server refuses may be outside the document;
			// every request it accepts must be in it.
			if status < 400 {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("the request does not match the document: %v", err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 status,
				Header:                 hdr,
				Body:                   io.NopCloser(strings.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("the answer %d %s does not match the document: %v", status, body, err)
			}
		})
	}
}

// fallback is a route for an answer that the document gives for every
// path, not under an operation: 405 to a method a path does not list, 404
// to a path it does not have.
func fallback(doc *openapi3.T, req *http.Request, status int, response string) *routers.Route {
	return &routers.Route{
		Spec:   doc,
		Path:   req.URL.Path,
		Method: req.Method,
		Operation: &openapi3.Operation{
			Responses: openapi3.NewResponses(openapi3.WithStatus(status, doc.Components.Responses[response])),
		},
	}
}

// TestOpenAPIPaths checks that the document has a path for every route
// of a server that serves the whole API, and no other.
func TestOpenAPIPaths(t *testing.T) {
	doc := loadOpenAPI(t)
	sg := newSignups(nil)
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}}
	srv := &api.Server{Transfers: st, States: st, Claims: sg, Signups: sg, Accounts: accounts{}}
	// The names of wildcards are the handlers' and the document's own.
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	var routes []string
	for _, pattern := range srv.Routes() {
		if pattern == "/" {
			continue // every other path: 404 not_found
		}
		routes = append(routes, wildcard.ReplaceAllString(pattern, "{}"))
	}
	var paths []string
	for _, path := range doc.Paths.InMatchingOrder() {
		paths = append(paths, wildcard.ReplaceAllString(path, "{}"))
	}
	slices.Sort(paths)
	if !slices.Equal(routes, paths) {
		t.Errorf("the handler serves\n%s\nthe document has\n%s", strings.Join(routes, "\n"), strings.Join(paths, "\n"))
	}
}

// TestOpenAPIErrorCodes checks that ErrorCode lists every code the API
// has, and that each error answer lists only codes of its status.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	var all []string
	for _, c := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		all = append(all, c.(string))
	}
	slices.Sort(all)
	var want []string
	for c := range api.Statuses {
		want = append(want, c)
	}
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("ErrorCode lists %v, the API has %v", all, want)
	}

	used := map[string]bool{}
	check := func(where, status string, resp *openapi3.Response) {
		if !strings.HasPrefix(status, "4") && !strings.HasPrefix(status, "5") {
			return
		}
		code := resp.Content.Get("application/json").Schema.Value.Properties["code"]
		if code == nil {
			t.Errorf("%s %s: no code enum", where, status)
			return
		}
		for _, c := range code.Value.Enum {
			used[c.(string)] = true
			if got := api.Statuses[c.(string)]; got == 0 || status != strconv.Itoa(got) {
				t.Errorf("%s %s lists %s, whose status is %d", where, status, c, got)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		if path == "/readyz" {
			continue // its 503 is a Readiness, not an error
		}
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				check(method+" "+path, status, resp.Value)
			}
		}
	}
	check("MethodNotAllowed", "405", doc.Components.Responses["MethodNotAllowed"].Value)
	check("NotFound", "404", doc.Components.Responses["NotFound"].Value)
	for _, c := range want {
		if !used[c] {
			t.Errorf("no answer lists %s", c)
		}
	}
}

// TestServeOpenAPI checks that every server that serves the API serves
// the document as the file has it.
func TestServeOpenAPI(t *testing.T) {
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		srv  *api.Server
	}{
		{"write side", &api.Server{Transfers: &transfers{}, Claims: newSignups(nil), Signups: newSignups(nil)}},
		{"read side", &api.Server{States: brokenStates{}, Signups: newSignups(nil), Accounts: accounts{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := do(t, tt.srv.Handler(), "GET", "/api/v1/openapi.json", "")
			if status != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s", status, hdr.Get("Content-Type"))
			}
			if body != string(bytes.TrimSpace(want)) {
				t.Error("the served document is not api/openapi.json")
			}
		})
	}
}
