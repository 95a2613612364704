package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

// newClient returns a client of the wallet's two APIs over kept-alive
// connections, enough for every sender and checker.
func newClient(c config) *api.Client {
	conns := 2*c.concurrency + c.drainConc + 4
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &api.Client{HTTPClient: &http.Client{Transport: tr, Timeout: c.timeout}, URL: c.api, ViewURL: c.view, Operator: c.operator}
}

// answer is how one POST ended: a status and, for an error answer, its
// code; or err when there was no answer.
type answer struct {
	status int
	code   string
	err    error
}

// key names the answer in the error counts: "503 unavailable",
// "transport: timeout".
func (a answer) key() string {
	if a.err != nil {
		var ne net.Error
		if errors.As(a.err, &ne) && ne.Timeout() {
			return "transport: timeout"
		}
		return "transport: error"
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

// ambiguous reports whether the transfer may or may not have been stored:
// the API says to retry those with the same body.
func (a answer) ambiguous() bool {
	return a.err != nil || a.status == http.StatusServiceUnavailable || a.status >= 500
}

// post sends one transfer: its body to POST /api/v1/transfers, or a
// withdrawal to POST /api/v1/withdrawals.
func post(ctx context.Context, cl *api.Client, t transfer) answer {
	var a api.Answer
	var err error
	if t.kind == withdrawal {
		id, perr := uuid.Parse(t.id)
		if perr != nil {
			return answer{err: perr}
		}
		a, err = cl.Withdraw(ctx, id, t.from, wallet.Cents(t.cents))
	} else {
		a, err = cl.PostTransferJSON(ctx, t.body)
	}
	if err != nil {
		return answer{err: err}
	}
	return answer{status: a.Status, code: a.Code()}
}

// errNotFound is the view's 404 for an account without instructions.
var errNotFound = errors.New("account not found")

// balance returns the account's balance in cents as the view shows it.
func balance(ctx context.Context, cl *api.Client, account string) (int64, error) {
	acct, found, err := cl.Account(ctx, account)
	switch {
	case err != nil:
		return 0, err
	case !found:
		return 0, errNotFound
	}
	return acct.Balance.Cents(), nil
}

// ping checks that the side answers /healthz.
func ping(ctx context.Context, cl *api.Client, s api.Side) error {
	err := cl.Health(ctx, s)
	var se *api.StatusError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s/healthz answered %d %s", cl.Base(s), se.Status, http.StatusText(se.Status))
	case err != nil:
		return fmt.Errorf("no wallet answers at %s (%w): start one with `make run`, or use -embedded", cl.Base(s), err)
	}
	return nil
}
