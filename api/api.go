// Package api holds the wallet's HTTP API: POST /api/v1/transfers on the
// write side, GET /api/v1/accounts/{account} on the read side, and the
// health and readiness probes. Handlers depend on small interfaces, so one
// process can serve either side or both.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wallet/wallet"
)

// Transfers stores accepted transfers.
type Transfers interface {
	// Send returns once Kafka has acknowledged t, or an error.
	Send(ctx context.Context, t wallet.Transfer) error
}

// Accounts reads account state.
type Accounts interface {
	// Account returns the named account; ok is false if it was never seen.
	Account(name string) (acct wallet.Account, ok bool, err error)
	// Recovered reports whether the state has caught up once.
	Recovered() bool
}

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// DefaultSendTimeout is how long a POST waits for Kafka's acknowledgement
// before answering 503.
const DefaultSendTimeout = 5 * time.Second

// Server serves the API. A nil Transfers or Accounts leaves that side out.
type Server struct {
	Transfers Transfers
	Accounts  Accounts
	// MaxAmount is the largest transfer accepted; zero means
	// wallet.DefaultMaxAmount.
	MaxAmount wallet.Money
	// SendTimeout bounds the wait for Kafka; zero means DefaultSendTimeout.
	SendTimeout time.Duration
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Transfers != nil {
		mux.HandleFunc("/api/v1/transfers", s.postTransfer)
	}
	if s.Accounts != nil {
		mux.HandleFunc("/api/v1/accounts/{account}", s.getAccount)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", s.ready)
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, wallet.Errorf(ENotFound, "no such endpoint: %s", r.URL.Path))
	})
	return mux
}

// NewHTTPServer returns an http.Server for h with timeouts, so that slow
// or idle clients cannot hold connections forever.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

func (s *Server) postTransfer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use POST"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, wallet.Errorf(EBodyTooLarge, "request body must be at most %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON"))
		return
	}
	t, err := DecodeTransfer(body, s.MaxAmount)
	if err != nil {
		writeError(w, err)
		return
	}
	timeout := s.SendTimeout
	if timeout == 0 {
		timeout = DefaultSendTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := s.Transfers.Send(ctx, t); err != nil {
		slog.Warn("transfer not acknowledged by Kafka", "request_id", t.RequestID, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "the transfer was not confirmed; retry with the same request_id"))
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

// AccountResponse is the body of GET /api/v1/accounts/{account}.
type AccountResponse struct {
	Account  string       `json:"account"`
	Balance  wallet.Money `json:"balance"`
	Currency string       `json:"currency"`
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use GET"))
		return
	}
	name := r.PathValue("account")
	if err := wallet.ValidateAccount(name); err != nil {
		writeError(w, err)
		return
	}
	acct, ok, err := s.Accounts.Account(name)
	if err != nil {
		slog.Warn("read account", "account", name, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "balances are not available yet; retry shortly"))
		return
	}
	if !ok {
		writeError(w, wallet.Errorf(wallet.EAccountNotFound, "account not found"))
		return
	}
	writeJSON(w, http.StatusOK, AccountResponse{Account: name, Balance: acct.Balance, Currency: wallet.Currency})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.Accounts != nil && !s.Accounts.Recovered() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "recovering"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
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
)

// statuses maps every error code to its HTTP status: the one place where
// they are decided.
var statuses = map[string]int{
	wallet.EInvalidJSON:      http.StatusBadRequest,
	wallet.ERequestIDInvalid: http.StatusBadRequest,
	wallet.EFromRequired:     http.StatusBadRequest,
	wallet.EToRequired:       http.StatusBadRequest,
	wallet.ESameAccount:      http.StatusBadRequest,
	wallet.EAccountInvalid:   http.StatusBadRequest,
	wallet.EAmountLtMin:      http.StatusBadRequest,
	wallet.EAmountInvalid:    http.StatusBadRequest,
	wallet.EAmountGtMax:      http.StatusBadRequest,
	EBodyTooLarge:            http.StatusRequestEntityTooLarge,
	EMethodNotAllowed:        http.StatusMethodNotAllowed,
	ENotFound:                http.StatusNotFound,
	wallet.EAccountNotFound:  http.StatusNotFound,
	wallet.EUnavailable:      http.StatusServiceUnavailable,
	wallet.EInternal:         http.StatusInternalServerError,
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
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "error", err)
	}
}
