package harness

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/wallet/wallet/api"
)

// IssueMissingKey has the operator issue the account name an API key,
// unless cl holds one already: a signup's answer shows the key once, to
// the request that made it, and a claim posted again after a 503 or a 202
// is answered without it. A user who lost the key asks the operator in
// the same way. issued is false when cl held a key, or when no claim of
// the name has won (404). cl should retry (api.Retry).
func IssueMissingKey(ctx context.Context, cl *api.Client, name string) (issued bool, err error) {
	if cl.Key(name) != "" {
		return false, nil
	}
	_, a, err := cl.IssueKey(ctx, uuid.New(), name, "")
	switch {
	case err != nil:
		return false, fmt.Errorf("issue a key to %s: %w", name, err)
	case a.Status == http.StatusCreated:
		return true, nil
	case a.Status == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("issue a key to %s: answered %d %s", name, a.Status, a.Code())
}
