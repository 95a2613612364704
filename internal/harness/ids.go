package harness

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/google/uuid"
)

// RandomUUID returns a version 4 UUID drawn from rng: a seed reproduces
// a run's request IDs, and math/rand is cheaper than crypto/rand at tens
// of thousands a second, and unique enough for a run.
func RandomUUID(rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}
