package loadgen

import (
	"math/rand/v2"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
)

// transfer is one transfer as loadgen sends it: the exact body, kept for
// re-posts, and what it does to the two balances.
type transfer struct {
	id    string
	kind  kind
	body  []byte // of POST /api/v1/transfers; none for a withdrawal
	from  string
	to    string
	cents int64
}

// newTransfer builds a transfer with a fresh request ID from rng.
func newTransfer(rng *rand.Rand, from, to string, cents int64) transfer {
	id := requestID(rng)
	return transfer{id: id, body: appendBody(nil, id, from, to, cents), from: from, to: to, cents: cents}
}

// newWithdrawal builds a withdrawal from an account with a fresh request
// ID from rng: a transfer to wallet.World.
func newWithdrawal(rng *rand.Rand, from string, cents int64) transfer {
	return transfer{id: requestID(rng), kind: withdrawal, from: from, to: wallet.World, cents: cents}
}

// reused returns t's request ID with another amount: a conflicting re-use.
func (t transfer) reused(cents int64) transfer {
	return transfer{id: t.id, body: appendBody(nil, t.id, t.from, t.to, cents), from: t.from, to: t.to, cents: cents}
}

// requestID returns a random request ID drawn from rng, as text
// (harness.RandomUUID).
func requestID(rng *rand.Rand) string { return harness.RandomUUID(rng).String() }

// appendBody appends the JSON of POST /api/v1/transfers. Account names
// and request IDs are loadgen's own, plain ASCII, so no escaping is needed.
func appendBody(dst []byte, id, from, to string, cents int64) []byte {
	dst = append(dst, `{"request_id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","from":"`...)
	dst = append(dst, from...)
	dst = append(dst, `","to":"`...)
	dst = append(dst, to...)
	dst = append(dst, `","amount":"`...)
	dst = append(dst, wallet.Cents(cents).String()...)
	return append(dst, `"}`...)
}
