package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// fuzzPrimerID is the request ID of the README's primer transfer.
const fuzzPrimerID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"

// fuzzRequestBudget is how long one request through the handler may take.
// Any body up to MaxBodyBytes is handled in well under a millisecond, even
// under -race; a request that takes seconds is a denial of service.
const fuzzRequestBudget = 5 * time.Second

// fuzzSink is a Transfers that records what it is sent.
type fuzzSink struct {
	mu   sync.Mutex
	sent []wallet.Transfer
}

func (s *fuzzSink) Send(ctx context.Context, t wallet.Transfer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, t)
	return nil
}

func (s *fuzzSink) transfers() []wallet.Transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wallet.Transfer(nil), s.sent...)
}

// postStatus is the HTTP status of each error code that POST
// /api/v1/transfers can answer with a working Transfers: anything else
// (internal, unavailable, not_found, ...) is a failure.
var postStatus = map[string]int{
	wallet.EInvalidJSON:      http.StatusBadRequest,
	wallet.ERequestIDInvalid: http.StatusBadRequest,
	wallet.EFromRequired:     http.StatusBadRequest,
	wallet.EToRequired:       http.StatusBadRequest,
	wallet.ESameAccount:      http.StatusBadRequest,
	wallet.EAccountInvalid:   http.StatusBadRequest,
	wallet.EAmountLtMin:      http.StatusBadRequest,
	wallet.EAmountInvalid:    http.StatusBadRequest,
	wallet.EAmountGtMax:      http.StatusBadRequest,
	api.EBodyTooLarge:        http.StatusRequestEntityTooLarge,
	api.EUnauthenticated:     http.StatusUnauthorized,
}

// senders authenticates a bearer token "sender:NAME" as NAME's owner: the
// fuzzed bodies are sent by their sender (fuzzAuth), so that they reach
// the decoder whatever name they hold, and authorization is exercised.
type senders struct{}

func (senders) Username(ctx context.Context, token string) (string, error) {
	name, ok := strings.CutPrefix(token, "sender:")
	if !ok {
		return "", errors.New("not a sender token")
	}
	return name, nil
}

// fuzzServer is the server the fuzzed bodies are posted to.
func fuzzServer(sink *fuzzSink) http.Handler {
	return (&api.Server{Transfers: sink, Tokens: senders{}, Operator: operatorKey}).Handler()
}

// fuzzAuth authenticates req as the sender its body names, the operator
// for a deposit; a body with no sender to be read goes without.
func fuzzAuth(req *http.Request, body []byte) {
	var b struct {
		From *string `json:"from"`
	}
	if json.Unmarshal(body, &b) != nil || b.From == nil {
		return
	}
	from := strings.TrimSpace(*b.From)
	if key, err := wallet.AccountKey(from); err == nil && key == wallet.World {
		req.Header.Set("Authorization", "Bearer "+operatorKey)
		return
	}
	req.Header.Set("Authorization", "Bearer sender:"+from)
}

var (
	canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	twoPlaces     = regexp.MustCompile(`^(0|[1-9][0-9]*)\.[0-9]{2}$`)
)

// fuzzSeeds are the table cases of FuzzPostTransfer's seed corpus; more
// are checked in under testdata/fuzz/FuzzPostTransfer.
var fuzzSeeds = []string{
	// The primer, and the amount in every accepted spelling.
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"0.50"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":0.5}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"0.5"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":1e2}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1E+2"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"0.010"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":0.01}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":1000000000}`,
	// Amounts that must be refused.
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":0.001}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":0.009}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":-1}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"-0.00"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":0}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"abc"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"NaN"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":NaN}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"Infinity"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":1e400}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1e400"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":1e-400}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":1e99999999999}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":123456789012345678901234567890}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1000000000.01"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"0x10"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":""}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":null}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":true}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob"}`,
	// Request IDs: other spellings of a UUID are normalised.
	`{"request_id":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","from":"Alice","to":"Bob","amount":"1"}`,
	`{"request_id":"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}","from":"Alice","to":"Bob","amount":"1"}`,
	`{"request_id":"urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","to":"Bob","amount":"1"}`,
	`{"request_id":" a0eebc999c0b4ef8bb6d6bb9bd380a11 ","from":"Alice","to":"Bob","amount":"1"}`,
	`{"request_id":"x","from":"Alice","to":"Bob","amount":"1"}`,
	`{"request_id":7,"from":"Alice","to":"Bob","amount":"1"}`,
	// Unicode and hostile names.
	`{"request_id":"` + fuzzPrimerID + `","from":"Åsa","to":"Борис 🙂","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":" \u00a0Alice\u3000","to":"\tBob\n","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"<script>&","to":"\u2028Bob","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Al\u0000ice","to":"Bob","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Al\u0085ice","to":"B\u007fob","amount":"1"}`,
	"{\"request_id\":\"" + fuzzPrimerID + "\",\"from\":\"Al\xffice\",\"to\":\"Bob\",\"amount\":\"1\"}",
	"{\"request_id\":\"" + fuzzPrimerID + "\",\"from\":\"Al\nice\",\"to\":\"Bob\",\"amount\":\"1\"}",
	`{"request_id":"` + fuzzPrimerID + `","from":"` + strings.Repeat("é", 32) + `","to":"Bob","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"` + strings.Repeat("a", 65) + `","to":"Bob","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":" Alice ","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"   ","to":"Bob","amount":"1"}`,
	// Nested objects, wrong types, duplicate keys, trailing garbage.
	`{"request_id":"` + fuzzPrimerID + `","from":{"name":"Alice"},"to":"Bob","amount":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":{"value":"1"}}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":["1"]}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1","extra":{"a":[1,{"b":null}]}}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","from":"Mallory","to":"Bob","amount":"1","amount":"2"}`,
	`{"request_id":"` + fuzzPrimerID + `","FROM":"Alice","To":"Bob","AMOUNT":"1"}`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1"}garbage`,
	`{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"1"}{}`,
	"\ufeff{\"request_id\":\"" + fuzzPrimerID + "\",\"from\":\"Alice\",\"to\":\"Bob\",\"amount\":\"1\"}",
	"\r\n {\"request_id\":\"" + fuzzPrimerID + "\",\"from\":\"Alice\",\"to\":\"Bob\",\"amount\":\"1\"} \n",
	// Not objects at all.
	``,
	` `,
	`null`,
	`[]`,
	`{}`,
	`"{}"`,
	`{"from":`,
}

// FuzzPostTransfer sends arbitrary bodies to POST /api/v1/transfers. Each
// must be answered with 201 and a normalised transfer, or with a 4xx and a
// documented error code; a 201 body posted again must come back unchanged.
//
// A short run: go test -run '^$' -fuzz '^FuzzPostTransfer$' -fuzztime 20s ./api/
func FuzzPostTransfer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// Both sides of the body size limit.
	f.Add(padBody(fuzzSeeds[0], api.MaxBodyBytes))
	f.Add(padBody(fuzzSeeds[0], api.MaxBodyBytes+1))
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp, sink := fuzzPost(t, body)
		switch {
		case status == http.StatusCreated:
			got := checkCreated(t, body, resp, sink)
			// Normalisation is idempotent: the stored transfer, posted
			// again, is stored unchanged.
			status2, resp2, sink2 := fuzzPost(t, resp)
			if status2 != http.StatusCreated || !bytes.Equal(resp2, resp) {
				t.Fatalf("re-posting the 201 body %s answered %d %s", resp, status2, resp2)
			}
			if sent := sink2.transfers(); len(sent) != 1 || !sent[0].Equal(got) {
				t.Fatalf("re-posting sent %+v, want %+v", sent, got)
			}
		case status >= 400 && status < 500:
			checkError(t, status, resp)
			if sent := sink.transfers(); len(sent) != 0 {
				t.Fatalf("answered %d %s but sent %+v", status, resp, sent)
			}
		default:
			t.Fatalf("status %d, want 201 or 4xx; body %s", status, resp)
		}
	})
}

// fuzzPost posts body to a fresh server and returns the status, the
// response body and what the server sent.
func fuzzPost(t *testing.T, body []byte) (int, []byte, *fuzzSink) {
	t.Helper()
	sink := &fuzzSink{}
	h := fuzzServer(sink)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/transfers", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	fuzzAuth(req, body)
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	if d := time.Since(start); d > fuzzRequestBudget {
		t.Errorf("a %d-byte body took %v to answer", len(body), d)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return rec.Code, rec.Body.Bytes(), sink
}

// checkError checks a 4xx answer: exactly {"message":..., "code":...}, a
// non-empty message and a code that POST may answer with this status.
func checkError(t *testing.T, status int, resp []byte) {
	t.Helper()
	var e api.ErrorResponse
	if err := decodeStrict(resp, &e); err != nil {
		t.Fatalf("%d body %q is not an error object: %v", status, resp, err)
	}
	want, ok := postStatus[e.Code]
	if !ok {
		t.Fatalf("%d body %s: code %q is not a code POST may answer with", status, resp, e.Code)
	}
	if want != status {
		t.Fatalf("%d body %s: code %q belongs with status %d", status, resp, e.Code, want)
	}
	if e.Message == "" {
		t.Fatalf("%d body %s: empty message", status, resp)
	}
}

// checkCreated checks a 201 answer to body against the request and returns
// the transfer it describes.
func checkCreated(t *testing.T, body, resp []byte, sink *fuzzSink) wallet.Transfer {
	t.Helper()
	var out struct {
		RequestID string `json:"request_id"`
		From      string `json:"from"`
		Amount    string `json:"amount"`
		To        string `json:"to"`
	}
	if err := decodeStrict(resp, &out); err != nil {
		t.Fatalf("201 body %q is not a transfer: %v", resp, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(resp, &fields); err != nil || len(fields) != 4 {
		t.Fatalf("201 body %s: want exactly request_id, from, amount and to", resp)
	}

	if !canonicalUUID.MatchString(out.RequestID) {
		t.Errorf("201 body %s: request_id %q is not a canonical lower-case UUID", resp, out.RequestID)
	}
	for _, name := range []string{out.From, out.To} {
		switch {
		case name == "":
			t.Errorf("201 body %s: empty account", resp)
		case strings.TrimSpace(name) != name:
			t.Errorf("201 body %s: account %q is not trimmed", resp, name)
		case !utf8.ValidString(name):
			t.Errorf("201 body %s: account %q is not UTF-8", resp, name)
		}
		if key, err := wallet.AccountKey(name); err != nil || len(key) > wallet.MaxAccountLen {
			t.Errorf("201 body %s: account %q: %v", resp, name, err)
		}
	}
	if from, _ := wallet.AccountKey(out.From); from == func() string { k, _ := wallet.AccountKey(out.To); return k }() {
		t.Errorf("201 body %s: from and to are one account", resp)
	}
	if !twoPlaces.MatchString(out.Amount) {
		t.Fatalf("201 body %s: amount %q does not have exactly two decimal places", resp, out.Amount)
	}
	amount := wallet.MustParseMoney(out.Amount)
	if amount.LessThan(wallet.MinAmount) || amount.GreaterThan(wallet.DefaultMaxAmount) {
		t.Errorf("201 body %s: amount %s outside [%s, %s]", resp, amount, wallet.MinAmount, wallet.DefaultMaxAmount)
	}
	id, _ := uuid.Parse(out.RequestID) // checked above
	got := wallet.Transfer{RequestID: id, From: out.From, To: out.To, Amount: amount}

	// The server sent exactly what it answered.
	if sent := sink.transfers(); len(sent) != 1 || !sent[0].Equal(got) || sent[0].Amount.String() != out.Amount {
		t.Errorf("201 body %s, but sent %+v", resp, sent)
	}

	// And what it answered is what the client asked for: the same fields,
	// read with encoding/json, trimmed and canonicalised independently.
	var req struct {
		RequestID *string         `json:"request_id"`
		From      *string         `json:"from"`
		To        *string         `json:"to"`
		Amount    json.RawMessage `json:"amount"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(body), &req); err != nil {
		t.Fatalf("201 for a body that encoding/json rejects: %v", err)
	}
	if req.RequestID == nil || req.From == nil || req.To == nil {
		t.Fatalf("201 for a body without request_id, from or to")
	}
	if u, err := uuid.Parse(strings.TrimSpace(*req.RequestID)); err != nil || u.String() != out.RequestID {
		t.Errorf("request_id %q answered as %q", *req.RequestID, out.RequestID)
	}
	if want := strings.TrimSpace(*req.From); want != out.From {
		t.Errorf("from %q answered as %q", *req.From, out.From)
	}
	if want := strings.TrimSpace(*req.To); want != out.To {
		t.Errorf("to %q answered as %q", *req.To, out.To)
	}
	text, ok := rawAmountText(req.Amount)
	if !ok {
		t.Fatalf("201 for amount %s, which is neither a JSON string nor a number", req.Amount)
	}
	asked, ok := new(big.Rat).SetString(strings.TrimSpace(text))
	if !ok {
		t.Fatalf("201 for amount %q, which is not a number", text)
	}
	answered, _ := new(big.Rat).SetString(out.Amount)
	if asked.Cmp(answered) != 0 {
		t.Errorf("amount %q answered as %q", text, out.Amount)
	}
	return got
}

// padBody returns the JSON object body padded with spaces after its
// opening brace to exactly n bytes.
func padBody(body string, n int) []byte {
	if !strings.HasPrefix(body, "{") || len(body) > n {
		panic("padBody: not an object, or longer than " + strconv.Itoa(n))
	}
	return []byte("{" + strings.Repeat(" ", n-len(body)) + body[1:])
}

// decodeStrict decodes exactly one JSON value with no unknown fields from
// b, which must end with it (and the encoder's newline).
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// rawAmountText returns the text of a JSON string or number.
func rawAmountText(raw json.RawMessage) (string, bool) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", false
	}
	return n.String(), true
}

// TestPostTransferHugeExponent is a regression test for a denial of
// service found while writing FuzzPostTransfer: an amount such as 1e-30000000 or 1e30000000, a body of
// about 100 bytes, makes wallet.ParseMoney (through shopspring/decimal's
// Truncate and Cmp, which rescale to the exponent) compute 10^30000000,
// which takes about 15 s of CPU and 100-200 MB; 1e-100000000 takes 95 s and
// 600 MB, and exponents go up to ±2147483647. The handler ignores the
// request's context while it computes, so neither the server's timeouts
// nor the client going away stop it.
func TestPostTransferHugeExponent(t *testing.T) {
	for _, amount := range []string{"1e-30000000", "1e30000000", `"1e-30000000"`, "10000000000e-30000000"} {
		t.Run(amount, func(t *testing.T) {
			body := `{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":` + amount + `}`
			done := make(chan int, 1)
			go func() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/api/v1/transfers", strings.NewReader(body))
				fuzzAuth(req, []byte(body))
				fuzzServer(&fuzzSink{}).ServeHTTP(rec, req)
				done <- rec.Code
			}()
			select {
			case status := <-done:
				if status != http.StatusBadRequest {
					t.Errorf("status %d, want 400", status)
				}
			case <-time.After(time.Second):
				t.Fatalf("amount %s: no answer within 1 s", amount)
			}
		})
	}
}
