package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// newClient returns a client of the wallet's two APIs over kept-alive
// connections, enough for every sender and checker.
func newClient(c config) *api.Client {
	return harness.NewClient(c.api, c.view, c.operator, 2*c.concurrency+c.drainConc+4, c.timeout)
}

// post sends one transfer: its body to POST /api/v1/transfers, or a
// withdrawal to POST /api/v1/withdrawals.
func post(ctx context.Context, cl *api.Client, t transfer) (api.Answer, error) {
	if t.kind == withdrawal {
		id, err := uuid.Parse(t.id)
		if err != nil {
			return api.Answer{}, fmt.Errorf("withdrawal %s: %w", t.id, err)
		}
		return cl.Withdraw(ctx, id, t.from, wallet.Cents(t.cents))
	}
	return cl.PostTransferJSON(ctx, t.body)
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
