package chaos

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
)

// transfer is one transfer of the run, with accounts as indexes into the
// journal's names and the amount in cents.
type transfer struct {
	id       uuid.UUID
	from, to int32
	cents    int64
	outcome  outcome // set by the one worker that sends it
	sent     bool    // posted at least once
}

// journal holds every transfer of the run, with how its posts ended, and
// the accounts they touch.
type journal struct {
	transfers []*transfer // generated, fixed after newJournal

	mu     sync.Mutex
	names  []string
	index  map[string]int32
	probes []*transfer
}

// newJournal generates n random transfers between the given number of
// accounts, from rng: amounts 0.01..100.00, random request IDs.
func newJournal(rng *rand.Rand, n, accounts int) *journal {
	l := &journal{index: map[string]int32{}}
	for i := range accounts {
		l.account(fmt.Sprintf("acct-%05d", i))
	}
	l.transfers = make([]*transfer, 0, n)
	for range n {
		from := int32(rng.IntN(accounts))
		to := int32(rng.IntN(accounts - 1))
		if to >= from {
			to++
		}
		l.transfers = append(l.transfers, &transfer{id: randomUUID(rng), from: from, to: to, cents: 1 + rng.Int64N(10000)})
	}
	return l
}

// randomUUID returns a version 4 UUID drawn from rng, so that a seed
// reproduces the transfers.
func randomUUID(rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	for i := 0; i < len(u); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// account returns the index of the named account, adding it if new.
func (l *journal) account(name string) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, ok := l.index[name]; ok {
		return i
	}
	l.names = append(l.names, name)
	l.index[name] = int32(len(l.names) - 1)
	return l.index[name]
}

// addProbe records a transfer made outside the generated ones.
func (l *journal) addProbe(t *transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probes = append(l.probes, t)
}

// body returns t as posted.
func (l *journal) body(t *transfer) wallet.Transfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return wallet.Transfer{RequestID: t.id, From: l.names[t.from], To: l.names[t.to], Amount: wallet.Cents(t.cents)}
}

// snapshot returns the accounts and transfers; call it once no transfer
// is in flight.
func (l *journal) snapshot() (names []string, transfers []*transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.names...), append(append([]*transfer(nil), l.transfers...), l.probes...)
}

// expected returns every account's balance after the accepted transfers,
// by index into names, and the transfers that may or may not have been
// applied.
func expected(names []string, transfers []*transfer) (want []int64, maybe []*transfer) {
	var l ledger.Ledger
	for i, t := range transfers {
		switch {
		case t.outcome == accepted:
			l.Add(i, names[t.from], names[t.to], t.cents)
		case t.sent:
			maybe = append(maybe, t)
		}
	}
	want = make([]int64, len(names))
	for i, name := range names {
		want[i] = l.Balance(name)
	}
	return want, maybe
}
