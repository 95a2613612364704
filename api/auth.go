package api

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/time/rate"

	"github.com/wallet/wallet"
)

// Authentication (DESIGN.md, "Authentication"). Every call that moves
// money from an account or reads one carries Authorization: Bearer with
// one of:
//   - an account's API key (wallet.KeyAccount names the account, and the
//     account's signup in the signup view holds the key's hash);
//   - the operator's key, which makes deposits, may withdraw, and reads
//     everything;
//   - with Server.Tokens set, a token of an identity provider, which
//     names the account's username.
//
// A missing, malformed or unknown credential is answered 401 with
// WWW-Authenticate: Bearer; a valid one for another account 403. A client
// whose credentials keep failing is answered 429 until its failures slow
// down.

// Error codes of authentication.
const (
	EUnauthenticated = "unauthenticated"
	EForbidden       = "forbidden"
	ETooManyFailures = "too_many_failures"
)

// Tokens verifies bearer tokens of an identity provider (OIDC).
type Tokens interface {
	// Username returns the username a valid token names, or an error.
	Username(ctx context.Context, token string) (string, error)
}

// caller is who a request is authenticated as: the operator, or the
// account key of an account's owner.
type caller struct {
	operator bool
	account  string
}

// may reports whether the caller may act as the account key: its owner
// may, and the operator when operator is set.
func (c caller) may(account string, operator bool) bool {
	return c.account == account || (operator && c.operator)
}

var authFailures = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wallet_auth_failures_total",
	Help: "Requests refused for their credentials, by reason: missing, malformed, unknown (no such key or token), forbidden (another account's), throttled (429).",
}, []string{"reason"})

// Every reason is a series from the start, at zero, so that increase()
// sees the first failure.
func init() {
	for _, reason := range []string{"missing", "malformed", "unknown", "forbidden", "throttled"} {
		authFailures.WithLabelValues(reason)
	}
}

// Failures of authentication a client may make a second, and in a burst,
// before it is answered 429: enough for a person mistyping a key, too few
// to guess one (which 256 bits make hopeless anyway) or to load the views.
const (
	failuresPerSecond = 2
	failureBurst      = 10
	// maxClients bounds the clients whose failures are remembered; past
	// it they are forgotten all at once, which only ever lets a client
	// fail more, never refuses a good request.
	maxClients = 10000
)

// failures limits the rate of failed authentications per client address.
type failures struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func (f *failures) limiter(r *http.Request) *rate.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients == nil || len(f.clients) >= maxClients {
		f.clients = map[string]*rate.Limiter{}
	}
	l, ok := f.clients[host]
	if !ok {
		l = rate.NewLimiter(failuresPerSecond, failureBurst)
		f.clients[host] = l
	}
	return l
}

// authenticate returns who the request is from, or answers the error
// itself and returns ok false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (c caller, ok bool) {
	limiter := s.failures.limiter(r)
	if limiter.Tokens() < 1 {
		authFailures.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, wallet.Errorf(ETooManyFailures, "too many failed authentications from this address; retry in a second"))
		return caller{}, false
	}
	c, reason, err := s.identify(r)
	if err == nil {
		return c, true
	}
	if wallet.ErrorCode(err) == EUnauthenticated {
		limiter.Allow() // counts the failure
		authFailures.WithLabelValues(reason).Inc()
		challenge := `Bearer realm="wallet"`
		if reason != "missing" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeError(w, err)
	return caller{}, false
}

// identify returns who the request's credential stands for, or an error
// and, for a 401, why (the reason label of wallet_auth_failures_total).
func (s *Server) identify(r *http.Request) (c caller, reason string, err error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, "missing", wallet.Errorf(EUnauthenticated, "this call needs Authorization: Bearer with the account's API key")
	}
	unknown := wallet.Errorf(EUnauthenticated, "the API key is not valid: unknown, revoked or mistyped")
	if s.Operator != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.Operator)) == 1 {
		return caller{operator: true}, "", nil
	}
	if account, ok := wallet.KeyAccount(token); ok {
		if s.Signups == nil {
			return caller{}, "unknown", unknown
		}
		signup, found, err := s.Signups.Signup(account)
		if err != nil {
			slog.Warn("read signup to verify an API key", "account", account, "error", err)
			return caller{}, "", wallet.Errorf(wallet.EUnavailable, "API keys cannot be checked yet; retry shortly")
		}
		if !found || !signup.HasKey(token) {
			return caller{}, "unknown", unknown
		}
		return caller{account: account}, "", nil
	}
	if s.Tokens != nil && !strings.HasPrefix(token, wallet.KeyPrefix) {
		name, err := s.Tokens.Username(r.Context(), token)
		if err != nil {
			slog.Debug("bearer token refused", "error", err)
			return caller{}, "unknown", wallet.Errorf(EUnauthenticated, "the bearer token is not valid")
		}
		account, err := wallet.AccountKey(name)
		if err != nil || account == wallet.World {
			return caller{}, "unknown", wallet.Errorf(EUnauthenticated, "the bearer token names no valid username")
		}
		return caller{account: account}, "", nil
	}
	return caller{}, "malformed", wallet.Errorf(EUnauthenticated, "the API key is not valid: an API key begins with %q", wallet.KeyPrefix)
}

// forbid answers 403 for a caller that may not do what it asked.
func forbid(w http.ResponseWriter, format string, args ...any) {
	authFailures.WithLabelValues("forbidden").Inc()
	writeError(w, wallet.Errorf(EForbidden, format, args...))
}

// authorizeTransfer checks that the caller may send t: the sender's owner,
// or for a withdrawal (to World) the operator too, and for a deposit (from
// World) the operator alone. It answers 403 itself and returns false when
// not.
func authorizeTransfer(w http.ResponseWriter, c caller, t wallet.Transfer) bool {
	from, err := wallet.AccountKey(t.From)
	to, errTo := wallet.AccountKey(t.To)
	switch {
	case err != nil || errTo != nil:
		// Validated before: unreachable.
		forbid(w, "no account may send this transfer")
		return false
	case from == wallet.World:
		if !c.operator {
			forbid(w, "only the operator makes deposits")
			return false
		}
	case !c.may(from, to == wallet.World):
		forbid(w, "only the owner of account %q may send its money", t.From)
		return false
	}
	return true
}
