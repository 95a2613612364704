package loadgen

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
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

// requestID returns a random version 4 UUID drawn from rng: cheaper than
// crypto/rand at tens of thousands a second, and unique enough for a run.
func requestID(rng *rand.Rand) string {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

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
