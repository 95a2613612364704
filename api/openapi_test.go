package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// bearer checks the document's security scheme as the validator sees a
// request: it carries a bearer credential (whose it is, the server
// decides).
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("security scheme %q is not http bearer", in.SecuritySchemeName)
	}
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no Authorization: Bearer")
	}
	return nil
}

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
	// the others; the signup group decides every claim and key change at
	// once.
	st := &states{stored: map[uuid.UUID]wallet.TransferState{}, decide: func(t wallet.Transfer) (wallet.Status, string) {
		if t.Amount.GreaterThan(wallet.Cents(10000)) {
			return wallet.Rejected, wallet.ReasonInsufficientFunds
		}
		return wallet.Completed, ""
	}}
	sg := newSignups(nil)
	// Partitions set: GET /api/v1/transfers/{id} answers with the
	// transfer's partitions, checked against the document too.
	wallets := func() string {
		return httptestServer(t, (&api.Server{
			Transfers: st, States: st, Claims: sg, Signups: sg, Partitions: 4, Operator: operatorKey,
			Accounts: accounts{"alice": {Balance: wallet.Cents(-50)}, "bob": {Balance: wallet.Cents(50)}, wallet.World: {}},
		}).Handler())
	}
	up := wallets()
	// The same wallet behind another server, whose limit of failed
	// authentications (per server and address) the 429 case uses up.
	locked := wallets()
	// A wallet whose processors decide nothing in time (Alice and Bob
	// signed up before).
	slow := &states{stored: map[uuid.UUID]wallet.TransferState{}}
	decided := newSignups(nil)
	slowAlice := signUp(t, decided, "Alice", wallet.Money{})
	signUp(t, decided, "Bob", wallet.Money{})
	never := undecided{decided}
	pending := httptestServer(t, (&api.Server{
		Transfers: slow, States: slow, Claims: never, Signups: never, DecisionTimeout: time.Millisecond, Operator: operatorKey,
	}).Handler())
	// A wallet whose Kafka does not acknowledge and whose views are
	// recovering: an API key cannot be checked there, the operator's key
	// can.
	down := httptestServer(t, (&api.Server{
		Transfers: &transfers{err: errors.New("timeout")}, Claims: &signups{err: errors.New("timeout")},
		Signups: failingSignups{}, States: brokenStates{}, Accounts: brokenAccounts{}, Operator: operatorKey,
	}).Handler())

	// The credentials of the column as: the operator's, Alice's on the
	// pending wallet, and the keys that the answers of the cases named in
	// keep show (each answer with an api_key must be one of those).
	keys := map[string]string{"operator": operatorKey, "alice@pending": slowAlice}
	keep := map[string]string{
		"sign up Alice":       "alice",
		"sign up Bob":         "bob",
		"issue Alice a key":   "alice2",
		"rotate Alice's key":  "alice3",
		"issue Bob a 2nd key": "bob2",
		"issue Bob a 3rd key": "bob3",
		"issue Bob a 4th key": "bob4",
		"issue Bob a 5th key": "bob5",
	}
	for _, name := range keep {
		keys[name] = ""
	}
	// A key in the form of Alice's that the wallet never issued.
	unknownKey, _, err := wallet.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}

	const (
		aliceID = "00000000-0000-4000-8000-00000000000a"
		bobID   = "00000000-0000-4000-8000-00000000000b"
		t1      = "00000000-0000-4000-8000-000000000001"
		t2      = "00000000-0000-4000-8000-000000000002"
		t3      = "00000000-0000-4000-8000-000000000003"
		t4      = "00000000-0000-4000-8000-000000000004"
		t5      = "00000000-0000-4000-8000-000000000005"
		t6      = "00000000-0000-4000-8000-000000000006"
		k1      = "00000000-0000-4000-8000-0000000000c1"
		k2      = "00000000-0000-4000-8000-0000000000c2"
		k3      = "00000000-0000-4000-8000-0000000000c3"
		k4      = "00000000-0000-4000-8000-0000000000c4"
		k5      = "00000000-0000-4000-8000-0000000000c5"
		k6      = "00000000-0000-4000-8000-0000000000c6"
		k7      = "00000000-0000-4000-8000-0000000000c7"
		k8      = "00000000-0000-4000-8000-0000000000c8"
		// The ID of a key that no account holds.
		noKey = "000000000000"
	)
	transfer := func(id, from, to, amount string) string {
		return `{"request_id":"` + id + `","from":"` + from + `","to":"` + to + `","amount":` + amount + `}`
	}
	// issue is the body of POST /api/v1/accounts/{name}/keys.
	issue := func(id, replaces string) string {
		if replaces == "" {
			return `{"request_id":"` + id + `"}`
		}
		return `{"request_id":"` + id + `","replaces":"` + replaces + `"}`
	}
	// In a path or a body, {id:who} stands for the ID of who's key.
	tests := []struct {
		name   string
		server string
		as     string // whose key authenticates: a name of keys, a literal credential, or "" for none
		method string
		path   string
		prefer string
		body   string
		status int
		code   string // of an error
	}{
		{"sign up Alice", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice","overdraft_limit":"100"}`, 201, ""},
		{"sign up Bob", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + bobID + `","username":"Bob"}`, 201, ""},
		{"sign up Alice again", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice","overdraft_limit":100}`, 201, ""},
		{"claim a taken name", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"ALICE"}`, 409, wallet.EUsernameTaken},
		{"sign up again with another limit", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice"}`, 409, wallet.ERequestIDConflict},
		{"sign up a reserved name", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"@bank"}`, 400, wallet.EUsernameInvalid},
		{"sign up below zero", up, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"Carol","overdraft_limit":"-1"}`, 400, wallet.EOverdraftLimitInvalid},
		{"sign up without JSON", up, "", "POST", "/api/v1/accounts", "", `username=Carol`, 400, wallet.EInvalidJSON},

		{"transfer", up, "alice", "POST", "/api/v1/transfers", "", transfer(t1, "Alice", "Bob", `"0.5"`), 201, ""},
		{"transfer again, waiting", up, "alice", "POST", "/api/v1/transfers", "wait=5", transfer(t1, "alice", "BOB", `0.50`), 201, ""},
		{"transfer rejected, waiting", up, "alice", "POST", "/api/v1/transfers", "respond-async, wait=5", transfer(t2, "Alice", "Bob", `"100.01"`), 201, ""},
		{"request ID of another transfer", up, "alice", "POST", "/api/v1/transfers", "", transfer(t1, "Alice", "Bob", `"0.51"`), 409, wallet.ERequestIDConflict},
		{"to a name never signed up", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Carol", `"1"`), 404, wallet.EAccountNotFound},
		{"bad JSON", up, "alice", "POST", "/api/v1/transfers", "", `{"from":`, 400, wallet.EInvalidJSON},
		{"bad request ID", up, "alice", "POST", "/api/v1/transfers", "", transfer("x", "Alice", "Bob", `"1"`), 400, wallet.ERequestIDInvalid},
		{"no sender", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "", "Bob", `"1"`), 400, wallet.EFromRequired},
		{"no recipient", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", " ", `"1"`), 400, wallet.EToRequired},
		{"reserved name", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "@bank", "Bob", `"1"`), 400, wallet.EAccountInvalid},
		{"one account", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "alice", `"1"`), 400, wallet.ESameAccount},
		{"three places", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `"0.001"`), 400, wallet.EAmountInvalid},
		{"nothing", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `0`), 400, wallet.EAmountLtMin},
		{"too much", up, "alice", "POST", "/api/v1/transfers", "", transfer(t3, "Alice", "Bob", `"1000000000.01"`), 400, wallet.EAmountGtMax},
		{"too large a body", up, "alice", "POST", "/api/v1/transfers", "", `{"from":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, api.EBodyTooLarge},
		{"GET of a POST path", up, "", "GET", "/api/v1/transfers", "", "", 405, api.EMethodNotAllowed},

		{"deposit, waiting", up, "operator", "POST", "/api/v1/deposits", "wait=1", `{"request_id":"` + t3 + `","account":"alice","amount":"5"}`, 201, ""},
		{"withdrawal", up, "bob", "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t4 + `","account":"Bob","amount":1}`, 201, ""},
		{"withdrawal by the operator", up, "operator", "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t6 + `","account":"Alice","amount":"1"}`, 201, ""},
		{"deposit to nobody", up, "operator", "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","amount":"5"}`, 400, api.EAccountRequired},
		{"deposit to the world", up, "operator", "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","account":"@World","amount":"5"}`, 400, wallet.ESameAccount},
		{"withdrawal from nobody", up, "operator", "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t5 + `","account":"Carol","amount":"5"}`, 404, wallet.EAccountNotFound},

		{"completed transfer", up, "alice", "GET", "/api/v1/transfers/" + t1, "", "", 200, ""},
		{"rejected transfer, read by its recipient", up, "bob", "GET", "/api/v1/transfers/" + strings.ToUpper(t2), "", "", 200, ""},
		{"a transfer read by the operator", up, "operator", "GET", "/api/v1/transfers/" + t4, "", "", 200, ""},
		{"unknown transfer", up, "alice", "GET", "/api/v1/transfers/" + t5, "", "", 404, wallet.ETransferNotFound},
		{"not a request ID", up, "alice", "GET", "/api/v1/transfers/x", "", "", 400, wallet.ERequestIDInvalid},
		{"DELETE a transfer", up, "", "DELETE", "/api/v1/transfers/" + t1, "", "", 405, api.EMethodNotAllowed},

		{"account", up, "alice", "GET", "/api/v1/accounts/ALICE", "", "", 200, ""},
		{"an account read by the operator", up, "operator", "GET", "/api/v1/accounts/Bob", "", "", 200, ""},
		{"the world", up, "operator", "GET", "/api/v1/accounts/@world", "", "", 200, ""},
		{"no account", up, "operator", "GET", "/api/v1/accounts/Carol", "", "", 404, wallet.EAccountNotFound},
		{"not an account name", up, "alice", "GET", "/api/v1/accounts/%20Bob", "", "", 400, wallet.EAccountInvalid},
		{"first page", up, "operator", "GET", "/api/v1/accounts?limit=1", "", "", 200, ""},
		{"next page", up, "operator", "GET", "/api/v1/accounts?after=alice&limit=1", "", "", 200, ""},
		{"all accounts", up, "operator", "GET", "/api/v1/accounts", "", "", 200, ""},
		{"limit 0", up, "operator", "GET", "/api/v1/accounts?limit=0", "", "", 400, api.ELimitInvalid},
		{"after a reserved name", up, "operator", "GET", "/api/v1/accounts?after=@bank", "", "", 400, wallet.EAccountInvalid},
		{"PUT accounts", up, "", "PUT", "/api/v1/accounts", "", "{}", 405, api.EMethodNotAllowed},

		// Every failed authentication counts toward the limit of the
		// server and address (a burst of 10): up answers 9 of them in
		// all, these and 2 among the keys' cases.
		{"transfer without a key", up, "", "POST", "/api/v1/transfers", "", transfer(t5, "Alice", "Bob", `"1"`), 401, api.EUnauthenticated},
		{"transfer with a malformed key", up, "not-a-key", "POST", "/api/v1/transfers", "", transfer(t5, "Alice", "Bob", `"1"`), 401, api.EUnauthenticated},
		{"deposit with a key never issued", up, unknownKey, "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","account":"alice","amount":"5"}`, 401, api.EUnauthenticated},
		{"withdrawal without a key, with bad JSON", up, "", "POST", "/api/v1/withdrawals", "", `{"account":`, 401, api.EUnauthenticated},
		{"transfer read without a key", up, "", "GET", "/api/v1/transfers/" + t1, "", "", 401, api.EUnauthenticated},
		{"account read without a key", up, "", "GET", "/api/v1/accounts/Alice", "", "", 401, api.EUnauthenticated},
		{"accounts listed without a key", up, "Basic YWxpY2U6eA==", "GET", "/api/v1/accounts", "", "", 401, api.EUnauthenticated},

		{"Bob reads Alice's account", up, "bob", "GET", "/api/v1/accounts/alice", "", "", 403, api.EForbidden},
		{"Alice reads the world", up, "alice", "GET", "/api/v1/accounts/@world", "", "", 403, api.EForbidden},
		{"Bob sends from Alice", up, "bob", "POST", "/api/v1/transfers", "", transfer(t5, "Alice", "Bob", `"1"`), 403, api.EForbidden},
		{"the operator sends from Alice", up, "operator", "POST", "/api/v1/transfers", "", transfer(t5, "Alice", "Bob", `"1"`), 403, api.EForbidden},
		{"Alice deposits", up, "alice", "POST", "/api/v1/deposits", "", `{"request_id":"` + t5 + `","account":"alice","amount":"5"}`, 403, api.EForbidden},
		{"Alice withdraws from Bob", up, "alice", "POST", "/api/v1/withdrawals", "", `{"request_id":"` + t5 + `","account":"Bob","amount":"5"}`, 403, api.EForbidden},
		{"Alice lists the accounts", up, "alice", "GET", "/api/v1/accounts", "", "", 403, api.EForbidden},
		{"Alice reads Bob's withdrawal", up, "alice", "GET", "/api/v1/transfers/" + t4, "", "", 403, api.EForbidden},

		{"Alice's keys", up, "alice", "GET", "/api/v1/accounts/Alice/keys", "", "", 200, ""},
		{"issue Alice a key", up, "alice", "POST", "/api/v1/accounts/ALICE/keys", "", issue(k1, ""), 201, ""},
		{"issue it again", up, "alice", "POST", "/api/v1/accounts/alice/keys", "", issue(k1, ""), 200, ""},
		{"Alice's keys, listed by the operator", up, "operator", "GET", "/api/v1/accounts/alice/keys", "", "", 200, ""},
		{"the new key reads Alice", up, "alice2", "GET", "/api/v1/accounts/Alice", "", "", 200, ""},
		{"replace a key Alice does not hold", up, "alice", "POST", "/api/v1/accounts/alice/keys", "", issue(k2, noKey), 404, wallet.EKeyNotFound},
		{"Bob's key replaced", up, "alice", "POST", "/api/v1/accounts/alice/keys", "", issue(k2, "{id:bob}"), 404, wallet.EKeyNotFound},
		{"rotate Alice's key", up, "alice2", "POST", "/api/v1/accounts/alice/keys", "", issue(k2, "{id:alice2}"), 201, ""},
		{"the replaced key", up, "alice2", "GET", "/api/v1/accounts/Alice", "", "", 401, api.EUnauthenticated},
		{"issue with a bad request ID", up, "alice", "POST", "/api/v1/accounts/alice/keys", "", issue("x", ""), 400, wallet.ERequestIDInvalid},
		{"issue without JSON", up, "alice", "POST", "/api/v1/accounts/alice/keys", "", `request_id=x`, 400, wallet.EInvalidJSON},
		{"keys of no account", up, "operator", "GET", "/api/v1/accounts/Carol/keys", "", "", 404, wallet.EAccountNotFound},
		{"keys of no account name", up, "operator", "POST", "/api/v1/accounts/@bank/keys", "", issue(k3, ""), 400, wallet.EAccountInvalid},
		{"Bob lists Alice's keys", up, "bob", "GET", "/api/v1/accounts/Alice/keys", "", "", 403, api.EForbidden},
		{"Bob issues Alice a key", up, "bob", "POST", "/api/v1/accounts/Alice/keys", "", issue(k3, ""), 403, api.EForbidden},
		{"Bob revokes Alice's key", up, "bob", "DELETE", "/api/v1/accounts/Alice/keys/{id:alice}", "", "", 403, api.EForbidden},
		{"keys without a key", up, "", "GET", "/api/v1/accounts/Alice/keys", "", "", 401, api.EUnauthenticated},
		{"revoke Alice's newest key", up, "alice", "DELETE", "/api/v1/accounts/Alice/keys/{id:alice3}", "", "", 204, ""},
		{"revoke it again", up, "operator", "DELETE", "/api/v1/accounts/Alice/keys/{id:alice3}", "", "", 404, wallet.EKeyNotFound},
		{"revoke a key no one holds", up, "alice", "DELETE", "/api/v1/accounts/Alice/keys/" + noKey, "", "", 404, wallet.EKeyNotFound},
		{"PUT keys", up, "alice", "PUT", "/api/v1/accounts/Alice/keys", "", issue(k3, ""), 405, api.EMethodNotAllowed},
		{"GET a key", up, "alice", "GET", "/api/v1/accounts/Alice/keys/{id:alice}", "", "", 405, api.EMethodNotAllowed},
		{"issue Bob a 2nd key", up, "bob", "POST", "/api/v1/accounts/Bob/keys", "", issue(k4, ""), 201, ""},
		{"issue Bob a 3rd key", up, "bob", "POST", "/api/v1/accounts/Bob/keys", "", issue(k5, ""), 201, ""},
		{"issue Bob a 4th key", up, "bob", "POST", "/api/v1/accounts/Bob/keys", "", issue(k6, ""), 201, ""},
		{"issue Bob a 5th key", up, "operator", "POST", "/api/v1/accounts/Bob/keys", "", issue(k7, ""), 201, ""},
		{"issue Bob a 6th key", up, "bob5", "POST", "/api/v1/accounts/Bob/keys", "", issue(k8, ""), 409, wallet.ETooManyKeys},

		{"health", up, "", "GET", "/healthz", "", "", 200, ""},
		{"ready", up, "", "GET", "/readyz", "", "", 200, ""},
		{"metrics", up, "", "GET", "/metrics", "", "", 200, ""},
		{"the document", up, "", "GET", "/api/v1/openapi.json", "", "", 200, ""},
		{"no such path", up, "", "GET", "/api/v2/transfers", "", "", 404, api.ENotFound},

		// The address has failed 10 times at once (see below).
		{"too many failures", locked, "not-a-key", "GET", "/api/v1/accounts/Alice", "", "", 429, api.ETooManyFailures},

		{"transfer pending", pending, "alice@pending", "POST", "/api/v1/transfers", "wait=1", transfer(t1, "Alice", "Bob", `"0.5"`), 202, ""},
		{"signup pending", pending, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + t5 + `","username":"Carol"}`, 202, ""},
		{"key pending", pending, "alice@pending", "POST", "/api/v1/accounts/Alice/keys", "", issue(k1, ""), 202, ""},
		{"revocation pending", pending, "operator", "DELETE", "/api/v1/accounts/Alice/keys/{id:alice@pending}", "", "", 202, ""},

		{"transfer not acknowledged", down, "operator", "POST", "/api/v1/transfers", "", transfer(t1, "@world", "Alice", `"0.5"`), 503, wallet.EUnavailable},
		{"signup not acknowledged", down, "", "POST", "/api/v1/accounts", "", `{"request_id":"` + aliceID + `","username":"Alice"}`, 503, wallet.EUnavailable},
		{"API key not verifiable", down, "alice", "GET", "/api/v1/accounts/Alice", "", "", 503, wallet.EUnavailable},
		{"transfers view recovering", down, "operator", "GET", "/api/v1/transfers/" + t1, "", "", 503, wallet.EUnavailable},
		{"accounts view recovering", down, "operator", "GET", "/api/v1/accounts/Alice", "", "", 503, wallet.EUnavailable},
		{"list while recovering", down, "operator", "GET", "/api/v1/accounts", "", "", 503, wallet.EUnavailable},
		{"keys while recovering", down, "operator", "GET", "/api/v1/accounts/Alice/keys", "", "", 503, wallet.EUnavailable},
		{"not ready", down, "", "GET", "/readyz", "", "", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			credential := tt.as
			if k, ok := keys[tt.as]; ok {
				if k == "" {
					t.Fatalf("no key of %s yet", tt.as)
				}
				credential = k
			}
			var ids []string
			for who, k := range keys {
				if k != "" {
					ids = append(ids, "{id:"+who+"}", wallet.HashKey(k).ID())
				}
			}
			fill := strings.NewReplacer(ids...)
			path, reqBody := fill.Replace(tt.path), fill.Replace(tt.body)
			newRequest := func() *http.Request {
				req, err := http.NewRequest(tt.method, tt.server+path, strings.NewReader(reqBody))
				if err != nil {
					t.Fatal(err)
				}
				if reqBody != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tt.prefer != "" {
					req.Header.Set("Prefer", tt.prefer)
				}
				if credential != "" {
					if strings.Contains(credential, " ") {
						req.Header.Set("Authorization", credential) // another scheme
					} else {
						req.Header.Set("Authorization", "Bearer "+credential)
					}
				}
				return req
			}
			if tt.status == http.StatusTooManyRequests {
				// Use up the address's burst of failures (10) at once.
				for i := range 10 {
					if status, body, _ := roundTrip(t, newRequest()); status != http.StatusUnauthorized {
						t.Fatalf("failure %d: status %d, want 401: %s", i+1, status, body)
					}
				}
			}
			status, body, hdr := roundTrip(t, newRequest())
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" && !strings.Contains(body, `"code":"`+tt.code+`"`) {
				t.Errorf("body %s, want code %s", body, tt.code)
			}
			if status == http.StatusUnauthorized {
				want := `Bearer realm="wallet", error="invalid_token"`
				if tt.as == "" || strings.Contains(credential, " ") {
					want = `Bearer realm="wallet"`
				}
				if got := hdr.Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate %q, want %q", got, want)
				}
			}
			// An API key is shown in the answers of keep alone.
			var shown struct {
				APIKey string `json:"api_key"`
			}
			if status < 300 && strings.HasPrefix(body, "{") {
				if err := json.Unmarshal([]byte(body), &shown); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
			}
			switch who, ok := keep[tt.name]; {
			case ok && shown.APIKey == "":
				t.Fatalf("no api_key in %s", body)
			case ok:
				keys[who] = shown.APIKey
			case shown.APIKey != "":
				t.Errorf("an api_key shown again: %s", body)
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
				t.Fatalf("%s %s is not in the document: %v", tt.method, path, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: bearer}}
			// A request the server refuses may be outside the document;
			// every request it accepts must be in it, with the credential
			// its security asks for.
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
	// Codes that ErrorCode lists and no HTTP answer carries.
	unanswered := map[string]string{
		wallet.EKeyChangeInvalid: "the signup group's, for a key change that issues and revokes nothing, which the API never writes",
	}
	for _, c := range want {
		switch {
		case !used[c] && unanswered[c] == "":
			t.Errorf("no answer lists %s", c)
		case used[c] && unanswered[c] != "":
			t.Errorf("an answer lists %s, which is %s", c, unanswered[c])
		}
	}
}

// TestOpenAPISecurity checks each operation's security against the
// handler: an operation that needs the bearer scheme answers a request
// without a credential 401, whatever its body, and lists the shared 401,
// 403 and 429 answers; one with security [] answers it otherwise.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	if s := doc.Components.SecuritySchemes["bearer"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Fatalf("components.securitySchemes.bearer is not an http bearer scheme")
	}
	// Sample values of the paths' wildcards.
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	samples := map[string]string{"{name}": "alice", "{request_id}": primerID, "{id}": "000000000000"}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			secured := len(security) > 0
			for _, req := range security {
				if _, ok := req["bearer"]; !ok || len(req) != 1 {
					t.Errorf("%s %s: security %v, want bearer or none", method, path, req)
				}
			}
			if op.Security == nil {
				t.Errorf("%s %s: no security of its own", method, path)
			}
			for status, response := range map[string]string{"401": "Unauthorized", "403": "Forbidden", "429": "TooManyFailures"} {
				r := op.Responses.Value(status)
				switch {
				case secured && (r == nil || r.Ref != "#/components/responses/"+response):
					t.Errorf("%s %s: %s is not components/responses/%s", method, path, status, response)
				case !secured && r != nil:
					t.Errorf("%s %s needs no credential but answers %s", method, path, status)
				}
			}
			// A server of its own each time: the failures count toward
			// one limit per server.
			sg := newSignups(nil)
			signUp(t, sg, "Alice", wallet.Money{})
			st := &states{stored: map[uuid.UUID]wallet.TransferState{}}
			h := (&api.Server{Transfers: st, States: st, Claims: sg, Signups: sg, Accounts: accounts{}, Operator: operatorKey}).Handler()
			target := wildcard.ReplaceAllStringFunc(path, func(w string) string { return samples[w] })
			status, body, _ := do(t, h, method, target, `{}`)
			if secured != (status == http.StatusUnauthorized) {
				t.Errorf("%s %s without a credential: %d %s; the document says security %v", method, target, status, body, security)
			}
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
