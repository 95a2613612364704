package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// kind is how a transfer of the run is sent.
type kind uint8

const (
	ordinary   kind = iota // POST /api/v1/transfers between two accounts
	deposit                // POST /api/v1/deposits: from wallet.World
	withdrawal             // POST /api/v1/withdrawals: to wallet.World
	viaKafka               // written straight to wallet.transfer_request, to a name never signed up
)

var kindNames = [...]string{ordinary: "transfer", deposit: "deposit", withdrawal: "withdrawal", viaKafka: "to an unknown name via Kafka"}

func (k kind) String() string { return kindNames[k] }

// transfer is one transfer of the run, with accounts as indexes into the
// journal's names and the amount in cents.
type transfer struct {
	id       uuid.UUID
	from, to int32
	cents    int64
	kind     kind
	outcome  outcome // set by the one worker that sends it
	sent     bool    // posted at least once

	// What GET /api/v1/transfers/{id} showed, once the run is over.
	found  bool
	status wallet.Status
	reason string
	shown  wallet.Transfer // the body it showed
}

// final reports whether the transfer's outcome was read and is final.
func (t *transfer) final() bool { return t.found && t.status.Final() }

// conflict is an earlier transfer's request ID posted again with another
// amount: the API must answer 409 request_id_conflict, or 201 when its
// view did not know the first yet, and then the first is what counts.
type conflict struct {
	orig  *transfer
	cents int64
	code  int // the answer that ended its retries: 409, 201, or 0 for none
}

// Funding and workload shapes. Accounts are funded with 0.00..200.00 and
// may overdraw by 0.00..50.00; transfers, deposits and withdrawals move
// 0.01..100.00, so a good share of transfers overdraw and are rejected.
const (
	maxFundingCents   = 20000
	maxLimitCents     = 5000
	maxTransferCents  = 10000
	probeFundingCents = 100000 // 1000.00: 100,000 probes of 0.01
	ghosts            = 20     // names never signed up, for the transfers via Kafka
	withdrawalShare   = 3      // percent of the workload
	depositShare      = 3
	viaKafkaShare     = 2
)

// journal holds every transfer of the run, with how its posts ended, and
// the accounts they touch.
type journal struct {
	transfers []*transfer // the workload, generated, fixed after newJournal
	world     int32       // index of wallet.World

	mu        sync.Mutex
	names     []string
	index     map[string]int32
	limits    map[string]int64 // overdraft limit of each account signed up, in cents
	ghost     map[int32]bool   // names never signed up
	funding   []*transfer
	probes    []*transfer
	conflicts []*conflict
}

// newJournal generates n random transfers between the given number of
// accounts, from rng: mostly transfers between two of them, some
// deposits, withdrawals and transfers to names never signed up (written
// to Kafka); amounts 0.01..100.00, random request IDs; and every account's
// overdraft limit, 0.00..50.00.
func newJournal(rng *rand.Rand, n, accounts int) *journal {
	l := &journal{index: map[string]int32{}, limits: map[string]int64{}, ghost: map[int32]bool{}}
	for i := range accounts {
		name := fmt.Sprintf("acct-%05d", i)
		l.account(name)
		l.limits[name] = rng.Int64N(maxLimitCents + 1)
	}
	l.world = l.account(wallet.World)
	for i := range ghosts {
		l.ghost[l.account(fmt.Sprintf("ghost-%05d", i))] = true
	}
	l.transfers = make([]*transfer, 0, n)
	for range n {
		t := &transfer{id: harness.RandomUUID(rng), from: int32(rng.IntN(accounts)), cents: 1 + rng.Int64N(maxTransferCents)}
		switch r := rng.IntN(100); {
		case r < withdrawalShare:
			t.kind, t.to = withdrawal, l.world
		case r < withdrawalShare+depositShare:
			t.kind, t.from, t.to = deposit, l.world, t.from
		case r < withdrawalShare+depositShare+viaKafkaShare:
			t.kind, t.to = viaKafka, int32(accounts+1+rng.IntN(ghosts))
		default:
			to := int32(rng.IntN(accounts - 1))
			if to >= t.from {
				to++
			}
			t.to = to
		}
		l.transfers = append(l.transfers, t)
	}
	return l
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

// name returns the name of account i.
func (l *journal) name(i int32) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names[i]
}

// signupNames returns the names to sign up: every account but World and
// the ghosts.
func (l *journal) signupNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for i, n := range l.names {
		if !l.ghost[int32(i)] && !strings.HasPrefix(n, "@") {
			names = append(names, n)
		}
	}
	return names
}

// limit returns the overdraft limit the account is signed up with.
func (l *journal) limit(name string) wallet.Money {
	l.mu.Lock()
	defer l.mu.Unlock()
	return wallet.Cents(l.limits[name])
}

// isGhost reports whether account i is a name never signed up.
func (l *journal) isGhost(i int32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ghost[i]
}

// fund generates one deposit per account signed up: 0.00..200.00 (none
// for 0.00), and probeFundingCents for the probes' senders.
func (l *journal) fund(rng *rand.Rand, probeFrom []int32) []*transfer {
	isProbe := map[int32]bool{}
	for _, p := range probeFrom {
		isProbe[p] = true
	}
	names := l.signupNames()
	for _, name := range names {
		i := l.account(name)
		cents := rng.Int64N(maxFundingCents + 1)
		if isProbe[i] {
			cents = probeFundingCents
		}
		if cents == 0 {
			continue
		}
		l.mu.Lock()
		l.funding = append(l.funding, &transfer{id: harness.RandomUUID(rng), from: l.world, to: i, cents: cents, kind: deposit})
		l.mu.Unlock()
	}
	return l.funding
}

// addProbe records a transfer made outside the generated ones.
func (l *journal) addProbe(t *transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probes = append(l.probes, t)
}

// addConflict records a conflicting re-use of a request ID.
func (l *journal) addConflict(c *conflict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conflicts = append(l.conflicts, c)
}

// body returns t as posted.
func (l *journal) body(t *transfer) wallet.Transfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return wallet.Transfer{RequestID: t.id, From: l.names[t.from], To: l.names[t.to], Amount: wallet.Cents(t.cents)}
}

// snapshot returns the accounts and transfers, funding and probes
// included; call it once no transfer is in flight.
func (l *journal) snapshot() (names []string, transfers []*transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := make([]*transfer, 0, len(l.funding)+len(l.transfers)+len(l.probes))
	all = append(append(append(all, l.funding...), l.transfers...), l.probes...)
	return append([]string(nil), l.names...), all
}

// conflictsSnapshot returns the conflicting re-uses; call it once none is
// in flight.
func (l *journal) conflictsSnapshot() []*conflict {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*conflict(nil), l.conflicts...)
}

// maybe reports whether t may or may not have moved money as far as the
// run knows: sent, but its outcome not read as final.
func (t *transfer) maybe() bool { return (t.sent || t.outcome == accepted) && !t.final() }

// expected returns every account's balance after the completed transfers,
// by index into names, and the transfers that may or may not have moved
// money: sent, but with no final outcome read.
func expected(names []string, transfers []*transfer) (want []int64, maybe []*transfer) {
	var l ledger.Ledger
	for i, t := range transfers {
		switch {
		case t.final():
			if t.status == wallet.Completed {
				l.Add(i, names[t.from], names[t.to], t.cents)
			}
		case t.maybe():
			maybe = append(maybe, t)
		}
	}
	want = make([]int64, len(names))
	for i, name := range names {
		want[i] = l.Balance(name)
	}
	return want, maybe
}
