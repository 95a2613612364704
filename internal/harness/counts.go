package harness

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet/api"
)

// Counts counts POSTs by how they were answered, across goroutines: the
// answers an api.Retry hides (Count is its OnAnswer) tell how hard the
// wallet was to reach.
type Counts struct {
	Posts       atomic.Int64 // POSTs sent
	Pending     atomic.Int64 // answered 202: not decided within the server's wait
	Unavailable atomic.Int64 // answered 5xx: maybe stored (503), or a failure
	ConnErrors  atomic.Int64 // without an answer
}

// Count counts one POST; its signature is api.Retry's OnAnswer.
func (c *Counts) Count(a api.Answer, err error, _ time.Duration) {
	c.Posts.Add(1)
	switch {
	case err != nil:
		c.ConnErrors.Add(1)
	case a.Status == http.StatusAccepted:
		c.Pending.Add(1)
	case a.Status >= 500:
		c.Unavailable.Add(1)
	}
}

// AnswerKey names an answer in a report's counts of unexpected answers:
// "503 unavailable" for an answer, "transport: timeout" or "transport:
// error" when none came (err).
func AnswerKey(a api.Answer, err error) string {
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "transport: timeout"
		}
		return "transport: error"
	}
	return fmt.Sprintf("%d %s", a.Status, a.Code())
}
