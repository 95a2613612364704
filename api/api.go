// Package api holds the wallet's HTTP API: POST /api/v1/transfers,
// /deposits, /withdrawals and /accounts on the write side; GET
// /api/v1/transfers/{id}, /accounts and /accounts/{name} on the read side;
// an account's API keys under /api/v1/accounts/{name}/keys; the probes
// (GET /healthz, /readyz and /metrics); a page at / to try it; and GET
// /api/v1/openapi.json, the document of the API (api/openapi.json). Every
// call that moves money or reads an account is authenticated (auth.go): an
// account's API key, the operator's key, or a token of an identity
// provider (oidc.go). Handlers depend on small interfaces, so one process
// can serve either side or both. Client is the one client of the API.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wallet/wallet"
)

// Transfers stores accepted transfers.
type Transfers interface {
	// Send returns once Kafka has acknowledged t, or an error.
	Send(ctx context.Context, t wallet.Transfer) error
}

// TransferStates reads paymentd's table: each transfer as first requested
// and its status.
type TransferStates interface {
	// Transfer returns the transfer stored under a request ID; ok is false
	// while none is.
	Transfer(id uuid.UUID) (s wallet.TransferState, ok bool, err error)
	// Recovered reports whether the state has caught up once.
	Recovered() bool
}

// Accounts reads account state.
type Accounts interface {
	// Account returns the state of the account key; ok is false if the
	// accountant has none.
	Account(key string) (acct wallet.Account, ok bool, err error)
	// Recovered reports whether the state has caught up once.
	Recovered() bool
}

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// DefaultSendTimeout is how long a POST waits for Kafka's acknowledgement
// before answering 503.
const DefaultSendTimeout = 5 * time.Second

// Server serves the API. The write side needs Transfers (with States to
// answer re-posts and waits from paymentd's state, and Signups for the
// courtesy check of accounts), and Claims with Signups; the read side
// Accounts with Signups, and States. A nil field leaves out what needs it.
type Server struct {
	Transfers Transfers
	Claims    Claims
	Signups   Signups
	States    TransferStates
	Accounts  Accounts
	// MaxAmount is the largest transfer accepted; zero means
	// wallet.DefaultMaxAmount.
	MaxAmount wallet.Money
	// MaxOverdraft is the largest overdraft limit an account may be
	// signed up with; zero means wallet.DefaultMaxOverdraft.
	MaxOverdraft wallet.Money
	// Partitions is the partition count of the wallet's topics; when set,
	// GET /api/v1/transfers/{id} answers with the transfer's partitions.
	Partitions int
	// SendTimeout bounds the wait for Kafka; zero means DefaultSendTimeout.
	SendTimeout time.Duration
	// DecisionTimeout bounds the wait for the signup group's decision;
	// zero means DefaultDecisionTimeout.
	DecisionTimeout time.Duration
	// Checks are the other things the server depends on (Kafka, the
	// processors of the same process), reported by GET /readyz beside its
	// views.
	Checks map[string]Check
	// Operator is the operator's key (see auth.go); "" means no operator:
	// no deposits, and no one lists the accounts.
	Operator string
	// Tokens, if set, verifies bearer tokens of an identity provider.
	Tokens Tokens

	failures failures
}

// A Check reports the state of something a server depends on: "ready", or
// what it is doing instead ("recovering", "restarting: ...").
type Check func() string

// Ready is the state of a check that is ready.
const Ready = "ready"

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range s.routes() {
		mux.HandleFunc(pattern, instrument(pattern, h))
	}
	// The page at / only; every other unknown path stays a 404 of the
	// API (the route "/").
	mux.HandleFunc("GET /{$}", servePage)
	mux.HandleFunc("GET /favicon.ico", serveFavicon)
	return mux
}

// routes returns every pattern the server serves and its handler: the one
// list that Handler registers, so that the test of api/openapi.json can
// compare the document's paths with it.
func (s *Server) routes() map[string]http.HandlerFunc {
	routes := probes(s.checks())
	routes["/api/v1/openapi.json"] = serveOpenAPI
	if s.Transfers != nil {
		routes["/api/v1/transfers"] = s.postTransfer
		routes["/api/v1/deposits"] = s.postDeposit
		routes["/api/v1/withdrawals"] = s.postWithdrawal
	}
	if s.States != nil {
		routes["/api/v1/transfers/{id}"] = s.getTransfer
	}
	if s.Signups != nil && (s.Claims != nil || s.Accounts != nil) {
		routes["/api/v1/accounts"] = s.accounts
	}
	if s.Signups != nil && s.Accounts != nil {
		routes["/api/v1/accounts/{name}"] = s.getAccount
	}
	if s.Signups != nil && s.Claims != nil {
		routes["/api/v1/accounts/{name}/keys"] = s.keys
		routes["/api/v1/accounts/{name}/keys/{id}"] = s.deleteKey
	}
	routes["/"] = func(w http.ResponseWriter, r *http.Request) {
		writeError(w, wallet.Errorf(ENotFound, "no such endpoint: %s", r.URL.Path))
	}
	return routes
}

// NewHTTPServer returns an http.Server for h with timeouts, so that slow
// or idle clients cannot hold connections forever. Writing may take as long
// as the longest answer: the wait for Kafka and a Prefer: wait of MaxWait.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      DefaultSendTimeout + MaxWait + 10*time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

func (s *Server) sendTimeout() time.Duration {
	if s.SendTimeout == 0 {
		return DefaultSendTimeout
	}
	return s.SendTimeout
}

// checks returns the server's views' checks and its other checks.
func (s *Server) checks() map[string]Check {
	checks := maps.Clone(s.Checks)
	if checks == nil {
		checks = map[string]Check{}
	}
	view := func(v interface{ Recovered() bool }) Check {
		return func() string {
			if v.Recovered() {
				return Ready
			}
			return "recovering"
		}
	}
	if s.Accounts != nil {
		checks["accounts view"] = view(s.Accounts)
	}
	if s.Signups != nil {
		checks["signups view"] = view(s.Signups)
	}
	if s.States != nil {
		checks["transfers view"] = view(s.States)
	}
	return checks
}

// Probes adds the probes of a process to mux: GET /healthz (the process
// answers), GET /readyz (200 when every check is ready, else 503; the body
// gives each check's state either way) and GET /metrics (Prometheus).
func Probes(mux *http.ServeMux, checks map[string]Check) {
	for pattern, h := range probes(checks) {
		mux.HandleFunc(pattern, instrument(pattern, h))
	}
}

func probes(checks map[string]Check) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/healthz": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		},
		"/readyz": func(w http.ResponseWriter, r *http.Request) {
			body := Readiness{Status: Ready, Checks: make(map[string]string, len(checks))}
			for name, check := range checks {
				state := check()
				body.Checks[name] = state
				if state != Ready {
					body.Status = "not_ready"
				}
			}
			code := http.StatusOK
			if body.Status != Ready {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, body)
		},
		"/metrics": promhttp.Handler().ServeHTTP,
	}
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status string            `json:"status"` // "ready" or "not_ready"
	Checks map[string]string `json:"checks"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// Error codes of the HTTP layer alone, beside the domain's in package
// wallet.
const (
	EBodyTooLarge     = "body_too_large"
	EMethodNotAllowed = "method_not_allowed"
	ENotFound         = "not_found"
	ELimitInvalid     = "limit_invalid"
	EAccountRequired  = "account_required"
)

// statuses maps every error code to its HTTP status: the one place where
// they are decided.
var statuses = map[string]int{
	wallet.EInvalidJSON:           http.StatusBadRequest,
	wallet.ERequestIDInvalid:      http.StatusBadRequest,
	wallet.EFromRequired:          http.StatusBadRequest,
	wallet.EToRequired:            http.StatusBadRequest,
	wallet.ESameAccount:           http.StatusBadRequest,
	wallet.EAccountInvalid:        http.StatusBadRequest,
	wallet.EAmountLtMin:           http.StatusBadRequest,
	wallet.EAmountInvalid:         http.StatusBadRequest,
	wallet.EAmountGtMax:           http.StatusBadRequest,
	wallet.EUsernameInvalid:       http.StatusBadRequest,
	wallet.EOverdraftLimitInvalid: http.StatusBadRequest,
	ELimitInvalid:                 http.StatusBadRequest,
	EAccountRequired:              http.StatusBadRequest,
	wallet.EKeyChangeInvalid:      http.StatusBadRequest,
	EUnauthenticated:              http.StatusUnauthorized,
	EForbidden:                    http.StatusForbidden,
	ETooManyFailures:              http.StatusTooManyRequests,
	wallet.ETooManyKeys:           http.StatusConflict,
	wallet.EKeyNotFound:           http.StatusNotFound,
	wallet.ETransferNotFound:      http.StatusNotFound,
	wallet.EUsernameTaken:         http.StatusConflict,
	wallet.ERequestIDConflict:     http.StatusConflict,
	EBodyTooLarge:                 http.StatusRequestEntityTooLarge,
	EMethodNotAllowed:             http.StatusMethodNotAllowed,
	ENotFound:                     http.StatusNotFound,
	wallet.EAccountNotFound:       http.StatusNotFound,
	wallet.EUnavailable:           http.StatusServiceUnavailable,
	wallet.EInternal:              http.StatusInternalServerError,
}

// writeError answers with err's code, its status and its message; an
// error without a code is an internal error.
func writeError(w http.ResponseWriter, err error) {
	var e *wallet.Error
	if !errors.As(err, &e) {
		e = wallet.Errorf(wallet.EInternal, "internal error")
	}
	status, ok := statuses[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, ErrorResponse{Message: e.Message, Code: e.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "Alice -> Bob", not "Alice -\u003e Bob"
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "error", err)
	}
}
