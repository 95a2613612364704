package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

const otherID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

func TestPostAccount(t *testing.T) {
	s := newSignups(nil)
	h := (&api.Server{Claims: s, Signups: s}).Handler()
	bob := `{"request_id":"` + primerID + `","username":"Bob"}`
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"first claim", bob, 201, `{"account":"Bob","balance":"0.00","currency":"USD","overdraft_limit":"0.00","api_key":"wlt_`},
		// The key is shown once: a re-post of the request ID does not get it.
		{"the same again", bob, 201, `{"account":"Bob","balance":"0.00","currency":"USD","overdraft_limit":"0.00"}`},
		{"the same request ID, another spelling", `{"request_id":"` + primerID + `","username":"BOB"}`, 201, `"account":"Bob"`},
		{"the same request ID, another limit", `{"request_id":"` + primerID + `","username":"Bob","overdraft_limit":"5.00"}`, 409, `"code":"request_id_conflict"`},
		{"another claim of the name", `{"request_id":"` + otherID + `","username":"ＢＯＢ"}`, 409, `{"message":"username \"ＢＯＢ\" is taken","code":"username_taken"}`},
		{"with a limit", `{"request_id":"` + otherID + `","username":"Alice","overdraft_limit":"100.00"}`, 201, `{"account":"Alice","balance":"0.00","currency":"USD","overdraft_limit":"100.00","api_key":"wlt_`},
		{"reserved", `{"request_id":"` + otherID + `","username":"@world"}`, 400, `"code":"username_invalid"`},
		{"spaces", `{"request_id":"` + otherID + `","username":"bob smith"}`, 400, `"code":"username_invalid"`},
		{"empty", `{"request_id":"` + otherID + `","username":"  "}`, 400, `"code":"username_invalid"`},
		{"too long", `{"request_id":"` + otherID + `","username":"` + strings.Repeat("a", 65) + `"}`, 400, `"code":"username_invalid"`},
		{"limit above the maximum", `{"request_id":"` + otherID + `","username":"Carol","overdraft_limit":"1000.01"}`, 400, `"code":"overdraft_limit_invalid"`},
		{"negative limit", `{"request_id":"` + otherID + `","username":"Carol","overdraft_limit":"-1"}`, 400, `"code":"overdraft_limit_invalid"`},
		{"limit too precise", `{"request_id":"` + otherID + `","username":"Carol","overdraft_limit":"0.001"}`, 400, `"code":"overdraft_limit_invalid"`},
		{"no request ID", `{"username":"Carol"}`, 400, `"code":"request_id_invalid"`},
		{"not JSON", `{`, 400, `"code":"invalid_json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := do(t, h, "POST", "/api/v1/accounts", tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.want)
			}
			if status == 201 && !strings.HasPrefix(hdr.Get("Location"), "/api/v1/accounts/") {
				t.Errorf("Location = %q", hdr.Get("Location"))
			}
		})
	}
	if status, body, _ := do(t, h, "PUT", "/api/v1/accounts", bob); status != 405 || !strings.Contains(body, `"code":"method_not_allowed"`) {
		t.Errorf("PUT = %d %s, want 405", status, body)
	}
}

// undecided stores claims that no signup group ever decides.
type undecided struct{ *signups }

func (undecided) Send(ctx context.Context, key string, c wallet.Claim) error { return nil }

func (undecided) SendKeyChange(ctx context.Context, k wallet.KeyChange) error { return nil }

func TestPostAccountWithoutDecision(t *testing.T) {
	s := undecided{newSignups(nil)}
	h := (&api.Server{Claims: s, Signups: s, DecisionTimeout: 50 * time.Millisecond}).Handler()
	status, body, hdr := do(t, h, "POST", "/api/v1/accounts", `{"request_id":"`+primerID+`","username":"Ｂｏｂ"}`)
	if status != http.StatusAccepted || hdr.Get("Location") != "/api/v1/accounts/bob" {
		t.Errorf("got %d %s, Location %q; want 202 with Location /api/v1/accounts/bob", status, body, hdr.Get("Location"))
	}
}

func TestPostAccountKafkaDown(t *testing.T) {
	s := newSignups(nil)
	s.err = errors.New("no broker")
	h := (&api.Server{Claims: s, Signups: s}).Handler()
	status, body, _ := do(t, h, "POST", "/api/v1/accounts", `{"request_id":"`+primerID+`","username":"Bob"}`)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("got %d %s, want 503 unavailable", status, body)
	}
}

func TestListAccounts(t *testing.T) {
	s := newSignups(nil)
	for _, name := range []string{"dave", "Alice", "carol", "Bob"} {
		s.won[strings.ToLower(name)] = wallet.Signup{Claim: wallet.Claim{Username: name}}
	}
	h := (&api.Server{Signups: s, Accounts: accounts{"bob": {Balance: wallet.Cents(7)}}, Operator: operatorKey}).Handler()
	tests := []struct {
		query string
		want  string
	}{
		{"?limit=2", `{"accounts":[{"account":"Alice","balance":"0.00","currency":"USD","overdraft_limit":"0.00"},{"account":"Bob","balance":"0.07","currency":"USD","overdraft_limit":"0.00"}],"next":"bob"}`},
		{"?limit=2&after=bob", `{"accounts":[{"account":"carol","balance":"0.00","currency":"USD","overdraft_limit":"0.00"},{"account":"dave","balance":"0.00","currency":"USD","overdraft_limit":"0.00"}],"next":"dave"}`},
		{"?limit=2&after=DAVE", `{"accounts":[]}`},
		{"?after=B", `{"accounts":[{"account":"Bob",`},
	}
	for _, tt := range tests {
		status, body, _ := doAs(t, h, operatorKey, "GET", "/api/v1/accounts"+tt.query, "")
		if status != 200 || !strings.HasPrefix(body, tt.want) {
			t.Errorf("GET %s = %d %s, want 200 %s", tt.query, status, body, tt.want)
		}
	}
}

// TestLookAlikeSignups signs up alice, then tries each look-alike of it:
// every one that could pass for alice is answered 409 username_taken, a
// name with an invisible character 400.
func TestLookAlikeSignups(t *testing.T) {
	s := newSignups(nil)
	h := (&api.Server{Claims: s, Signups: s}).Handler()
	post := func(name string) (int, string) {
		body, _ := json.Marshal(map[string]string{"request_id": uuid.NewString(), "username": name})
		status, resp, _ := do(t, h, "POST", "/api/v1/accounts", string(body))
		return status, resp
	}
	if status, resp := post("alice"); status != 201 {
		t.Fatalf("alice: %d %s", status, resp)
	}
	for _, tt := range []struct {
		name, why string
		status    int
		code      string
	}{
		{"аlice", "Cyrillic а, the issue's case", 409, "username_taken"},
		{"аlісе", "Cyrillic а, і, с, е around a Latin l", 409, "username_taken"},
		{"асе", "all Cyrillic: ace's look-alike, free here", 201, ""},
		{"ace", "the Latin ace after the Cyrillic асе", 409, "username_taken"},
		// Not caught: the confusables data maps the palochka to i, so
		// this is "aiice", a name of its own.
		{"аӏісе", "all Cyrillic, with a palochka for the l", 201, ""},
		{"αlice", "Greek alpha", 409, "username_taken"},
		{"alicė", "e with a combining dot above (U+0307)", 409, "username_taken"},
		{"alicé", "a precomposed é", 409, "username_taken"},
		{"ALICE", "capitals", 409, "username_taken"},
		{"ａｌｉｃｅ", "full-width forms", 409, "username_taken"},
		{"a1ice", "the digit 1 for l", 409, "username_taken"},
		{"al\u200bice", "a zero-width space", 400, "username_invalid"},
		{"al\u00adice", "a soft hyphen", 400, "username_invalid"},
		{"\ufeffalice", "a byte order mark", 400, "username_invalid"},
		{"аlex", "Cyrillic а in a name nobody has: mixed scripts", 400, "username_invalid"},
		{"alicia", "another name", 201, ""},
	} {
		status, resp := post(tt.name)
		if status != tt.status || (tt.code != "" && !strings.Contains(resp, `"code":"`+tt.code)) {
			t.Errorf("%q (%s): %d %s, want %d %s", tt.name, tt.why, status, resp, tt.status, tt.code)
		}
	}
}
