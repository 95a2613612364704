package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/views"
)

// Claims stores claims of usernames and changes of accounts' API keys.
type Claims interface {
	// Send returns once Kafka has acknowledged the claim of the account
	// key, or an error.
	Send(ctx context.Context, key string, c wallet.Claim) error
	KeyChanges
}

// Signups reads the signup group's decisions.
type Signups interface {
	// Signup returns the claim that won the account key; ok is false
	// while none has.
	Signup(key string) (s wallet.Signup, ok bool, err error)
	// After returns up to limit signups with keys after the key after, in
	// key order, and the key after which the next page starts ("" for
	// none).
	After(after string, limit int) (page []views.Keyed, next string, err error)
	// Recovered reports whether the state has caught up once.
	Recovered() bool
}

// DefaultDecisionTimeout is how long POST /api/v1/accounts waits for the
// signup group's decision before answering 202.
const DefaultDecisionTimeout = 5 * time.Second

// DefaultPageSize and MaxPageSize bound GET /api/v1/accounts.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// AccountResponse is the body of GET /api/v1/accounts/{name} and of a
// 201 to POST /api/v1/accounts.
type AccountResponse struct {
	Account  string       `json:"account"`
	Balance  wallet.Money `json:"balance"`
	Currency string       `json:"currency"`
	// OverdraftLimit is how far below zero the account may go; none for
	// World, which has no limit.
	OverdraftLimit *wallet.Money `json:"overdraft_limit,omitempty"`
	// APIKey is the account's first API key, in the 201 to the request
	// that made it, and never again (see postAccount).
	APIKey string `json:"api_key,omitempty"`
}

// AccountsPage is the body of GET /api/v1/accounts: accounts in key
// order, and the name to pass as after for the next page ("" after the
// last).
type AccountsPage struct {
	Accounts []AccountResponse `json:"accounts"`
	Next     string            `json:"next,omitempty"`
}

// signupBody is the body of POST /api/v1/accounts as a client sends it.
type signupBody struct {
	RequestID      *string         `json:"request_id"`
	Username       *string         `json:"username"`
	OverdraftLimit json.RawMessage `json:"overdraft_limit"`
}

// DecodeClaim parses a client's JSON body into a valid claim and its
// account key. Every failure is a *wallet.Error with the code the API
// documents. maxOverdraft is as for wallet.Claim.Validate.
func DecodeClaim(body []byte, maxOverdraft wallet.Money) (wallet.Claim, string, error) {
	var req signupBody
	if err := decodeBody(body, &req); err != nil {
		return wallet.Claim{}, "", err
	}
	var c wallet.Claim
	if req.RequestID != nil {
		// An unparsable ID stays the nil UUID, which Validate reports.
		if u, err := uuid.Parse(strings.TrimSpace(*req.RequestID)); err == nil {
			c.RequestID = u
		}
	}
	if req.Username != nil {
		c.Username = strings.TrimSpace(*req.Username)
	}
	if len(req.OverdraftLimit) > 0 && string(req.OverdraftLimit) != "null" {
		s, err := wallet.AmountText(req.OverdraftLimit)
		if err != nil {
			return wallet.Claim{}, "", wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON")
		}
		if c.OverdraftLimit, err = wallet.ParseMoney(strings.TrimSpace(s)); err != nil {
			return wallet.Claim{}, "", wallet.Errorf(wallet.EOverdraftLimitInvalid, "%v", err)
		}
	}
	key, err := c.Validate(maxOverdraft)
	if err != nil {
		return wallet.Claim{}, "", err
	}
	return c, key, nil
}

// accounts serves /api/v1/accounts: POST signs up, GET lists.
func (s *Server) accounts(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && s.Claims != nil:
		s.postAccount(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && s.Accounts != nil:
		s.listAccounts(w, r)
	default:
		// The methods of the resource, as the cases above serve them.
		var methods []string
		if s.Accounts != nil {
			methods = append(methods, http.MethodGet, http.MethodHead)
		}
		if s.Claims != nil {
			methods = append(methods, http.MethodPost)
		}
		allow := strings.Join(methods, ", ")
		w.Header().Set("Allow", allow)
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use %s", allow))
	}
}

func (s *Server) postAccount(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	c, key, err := DecodeClaim(body, s.MaxOverdraft)
	if err != nil {
		if wallet.ErrorCode(err) == wallet.EUsernameInvalid && s.lookAlikeTaken(body) {
			// A look-alike of a taken name (a mixed-script "аlice" after
			// "alice") is someone else's name before it is an invalid one.
			err = wallet.Errorf(wallet.EUsernameTaken, "username %q is taken: it looks like a name signed up before", claimedName(body))
			processors.CountTakenInView()
		}
		writeError(w, err)
		return
	}
	// The first claim of a name wins for ever: once the view shows an
	// owner, the answer is known without writing the claim (and a refusal
	// is counted here: the signup group never sees the claim).
	if done := s.answerClaim(w, c, key, ""); done {
		return
	}
	// The API key is made here and only its hash is written: if the claim
	// wins, this request, and no other, answers with the key. A re-post of
	// the request ID makes another key, which the winning claim does not
	// hold, so whoever knows only the request ID never learns the key.
	apiKey, hash, err := wallet.NewKey(key)
	if err != nil {
		writeError(w, fmt.Errorf("make an API key: %w", err))
		return
	}
	c.KeyHash = &hash
	ctx, cancel := context.WithTimeout(r.Context(), s.sendTimeout())
	defer cancel()
	if err := s.Claims.Send(ctx, key, c); err != nil {
		slog.Warn("claim not acknowledged by Kafka", "request_id", c.RequestID, "account", key, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "the signup was not confirmed; retry with the same request_id"))
		return
	}
	timeout := s.DecisionTimeout
	if timeout == 0 {
		timeout = DefaultDecisionTimeout
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if done := s.answerClaim(w, c, key, apiKey); done {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.Header().Set("Location", accountPath(key))
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending", "account": key})
}

// claimedName returns the username a signup body claims, trimmed; "" if
// none can be read.
func claimedName(body []byte) string {
	var req signupBody
	if decodeBody(body, &req) != nil || req.Username == nil {
		return ""
	}
	return strings.TrimSpace(*req.Username)
}

// lookAlikeTaken reports whether the name a signup body claims has the
// account key of a name that a claim has won: wallet.AccountKey folds
// look-alikes together, where wallet.UsernameKey would refuse the name.
func (s *Server) lookAlikeTaken(body []byte) bool {
	key, err := wallet.AccountKey(claimedName(body))
	if err != nil || key == wallet.World {
		return false
	}
	_, ok, err := s.Signups.Signup(key)
	return err == nil && ok
}

// answerClaim answers a claim from the signup view if the account's owner
// is decided, and reports whether it did. apiKey is the key whose hash
// this request wrote with the claim, "" before it wrote the claim. The
// answer holds apiKey when the account's first key is apiKey: the claim
// that won is this request's. A claim refused before it is written is
// counted as decided by the view; once written, the signup group counts
// its decision.
func (s *Server) answerClaim(w http.ResponseWriter, c wallet.Claim, key, apiKey string) bool {
	won, ok, err := s.Signups.Signup(key)
	if err != nil {
		slog.Warn("read signup", "account", key, "error", err)
		return false
	}
	switch {
	case !ok:
		return false
	case won.RequestID != c.RequestID:
		if apiKey == "" {
			processors.CountTakenInView()
		}
		writeError(w, wallet.Errorf(wallet.EUsernameTaken, "username %q is taken", c.Username))
	case !won.OverdraftLimit.Equal(c.OverdraftLimit):
		writeError(w, wallet.Errorf(wallet.ERequestIDConflict, "request ID %s was used to sign up %q with overdraft limit %s", c.RequestID, won.Username, won.OverdraftLimit))
	default:
		w.Header().Set("Location", accountPath(key))
		limit := won.OverdraftLimit
		resp := AccountResponse{Account: won.Username, Currency: wallet.Currency, OverdraftLimit: &limit}
		if first, ok := won.Issued(won.RequestID); ok && apiKey != "" && first.Hash == wallet.HashKey(apiKey) {
			resp.APIKey = apiKey
		}
		writeJSON(w, http.StatusCreated, resp)
	}
	return true
}

func accountPath(key string) string { return "/api/v1/accounts/" + url.PathEscape(key) }

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use GET"))
		return
	}
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	key, err := wallet.AccountKey(r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	if !who.may(key, true) {
		forbid(w, "only the account's owner may read it")
		return
	}
	resp, ok, err := s.account(key)
	if err != nil {
		slog.Warn("read account", "account", key, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "accounts are not available yet; retry shortly"))
		return
	}
	if !ok {
		writeError(w, wallet.Errorf(wallet.EAccountNotFound, "account not found"))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// account returns what GET says of the account key: ok is false for an
// account that no claim has won (World always exists).
func (s *Server) account(key string) (AccountResponse, bool, error) {
	resp := AccountResponse{Account: wallet.World, Currency: wallet.Currency}
	if key != wallet.World {
		won, ok, err := s.Signups.Signup(key)
		if err != nil || !ok {
			return AccountResponse{}, false, err
		}
		limit := won.OverdraftLimit
		resp.Account, resp.OverdraftLimit = won.Username, &limit
	}
	acct, _, err := s.Accounts.Account(key)
	if err != nil {
		return AccountResponse{}, false, err
	}
	resp.Balance = acct.Balance
	return resp, true, nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !who.operator {
		forbid(w, "only the operator lists the accounts")
		return
	}
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" {
		key, err := wallet.AccountKey(after)
		if err != nil {
			writeError(w, err)
			return
		}
		after = key
	}
	limit := DefaultPageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			writeError(w, wallet.Errorf(ELimitInvalid, "limit must be a number from 1 to %d", MaxPageSize))
			return
		}
		limit = n
	}
	signups, next, err := s.Signups.After(after, limit)
	if err != nil {
		slog.Warn("list accounts", "after", after, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "accounts are not available yet; retry shortly"))
		return
	}
	page := AccountsPage{Accounts: []AccountResponse{}, Next: next}
	for _, k := range signups {
		acct, _, err := s.Accounts.Account(k.Key)
		if err != nil {
			// That account alone is unavailable (GET answers 503 for
			// it): the page goes on without it.
			slog.Warn("left an account out of a page", "account", k.Key, "error", err)
			continue
		}
		limit := k.Signup.OverdraftLimit
		page.Accounts = append(page.Accounts, AccountResponse{Account: k.Signup.Username, Balance: acct.Balance, Currency: wallet.Currency, OverdraftLimit: &limit})
	}
	writeJSON(w, http.StatusOK, page)
}

// readBody reads a request body of at most MaxBodyBytes, answering the
// error itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, wallet.Errorf(EBodyTooLarge, "request body must be at most %d bytes", MaxBodyBytes))
			return nil, false
		}
		writeError(w, wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON"))
		return nil, false
	}
	return body, true
}
