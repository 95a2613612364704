package loadgen

import (
	"math/rand/v2"
	"strconv"

	"github.com/wallet/wallet/internal/ledger"
)

// accounts names the accounts of a run and picks the two sides of each
// transfer. One accounts value per goroutine: its random source and Zipf
// generator are not safe for concurrent use.
type accounts struct {
	prefix   string
	n        int
	hotShare int // percent of transfers that pay the merchant
	rng      *rand.Rand
	zipf     *rand.Zipf // nil for uniform
}

func newAccounts(c config, rng *rand.Rand) *accounts {
	a := &accounts{prefix: c.prefix, n: c.accounts, hotShare: c.hotShare, rng: rng}
	if c.skew == "zipf" {
		a.zipf = rand.NewZipf(rng, c.zipfS, 1, uint64(c.accounts-1))
	}
	return a
}

// name returns the name of account i: "<prefix>-<i>".
func (a *accounts) name(i int) string { return a.prefix + "-" + strconv.Itoa(i) }

// merchant is the hot account of -hot-share.
func (a *accounts) merchant() string { return a.prefix + "-merchant" }

// probeFrom and probeTo are the two accounts only probes use.
func (a *accounts) probeFrom() string { return a.prefix + "-probe-a" }
func (a *accounts) probeTo() string   { return a.prefix + "-probe-b" }

// one picks an account index by the configured skew.
func (a *accounts) one() int {
	if a.zipf != nil {
		return int(a.zipf.Uint64())
	}
	return a.rng.IntN(a.n)
}

// pair picks the sender and the recipient of a transfer, never the same
// account.
func (a *accounts) pair() (from, to string) {
	f, t := a.pairIndex()
	return a.nameOf(f), a.nameOf(t)
}

// merchantIndex stands for the merchant among account indexes.
const merchantIndex = -1

// nameOf returns the name of account i, or the merchant's.
func (a *accounts) nameOf(i int) string {
	if i == merchantIndex {
		return a.merchant()
	}
	return a.name(i)
}

// pairIndex is pair with indexes for names: to is merchantIndex for a
// transfer to the merchant.
func (a *accounts) pairIndex() (from, to int) {
	f := a.one()
	if a.hotShare > 0 && a.rng.IntN(100) < a.hotShare {
		return f, merchantIndex
	}
	t := a.one()
	for range 8 { // a hot Zipf head repeats often; redraw a few times
		if t != f {
			break
		}
		t = a.one()
	}
	if t == f {
		t = (f + 1 + a.rng.IntN(a.n-1)) % a.n
	}
	return f, t
}

// unknown returns the name of a recipient never signed up, for transfer i.
func (a *accounts) unknown(i int) string { return a.prefix + "-unknown-" + strconv.Itoa(i) }

// kind is what a transfer of the load is.
type kind uint8

const (
	ordinary   kind = iota // between two accounts, always affordable
	overdraft              // more than the sender can ever have: rejected insufficient_funds
	unknownTo              // to a name never signed up: answered 404 account_not_found
	withdrawal             // POST /api/v1/withdrawals: to wallet.World
)

// plan is the two sides and the kind of every transfer of a load, drawn
// before it, so that the accounts the transfers use, and only those, are
// signed up first (with -accounts 1000000 and -n 100000, about 181,000 of
// them) and funded with what they will send.
type plan struct {
	from, to []int32 // per transfer; to is merchantIndex for the merchant
	kinds    []kind  // per transfer; to is not used for unknownTo and withdrawal

	// Set by the funding phase: the deposits, and an overdraft attempt's
	// amount, more than all of them together, so more than any account
	// can ever have.
	deposits       ledger.Ledger
	overdraftCents int64
}

func newPlan(c config, seed uint64) *plan {
	a := newAccounts(c, rand.New(rand.NewPCG(seed, 1<<34)))
	kinds := rand.New(rand.NewPCG(seed, 1<<35))
	p := &plan{from: make([]int32, c.n), to: make([]int32, c.n), kinds: make([]kind, c.n)}
	for i := range c.n {
		f, t := a.pairIndex()
		p.from[i], p.to[i] = int32(f), int32(t)
		switch r := kinds.IntN(100); {
		case r < c.overdraft:
			p.kinds[i] = overdraft
		case r < c.overdraft+c.unknown:
			p.kinds[i] = unknownTo
		case r < c.overdraft+c.unknown+c.withdraw:
			p.kinds[i] = withdrawal
		}
	}
	return p
}

// pair returns the names of the sides of transfer i.
func (p *plan) pair(a *accounts, i int) (from, to string) {
	return a.nameOf(int(p.from[i])), a.nameOf(int(p.to[i]))
}

// names returns every account the plan uses, once, in the order of first
// use.
func (p *plan) names(a *accounts) []string {
	seen := map[int32]bool{}
	var names []string
	for s, side := range [][]int32{p.from, p.to} {
		for i, acct := range side {
			if s == 1 && (p.kinds[i] == unknownTo || p.kinds[i] == withdrawal) {
				continue
			}
			if !seen[acct] {
				seen[acct] = true
				names = append(names, a.nameOf(int(acct)))
			}
		}
	}
	return names
}

// funding returns what each account needs to afford every transfer and
// withdrawal the plan has it send, at the largest amount: the
// deposits before the load.
func (p *plan) funding(a *accounts, maxCents int64) map[string]int64 {
	f := map[string]int64{}
	for i, acct := range p.from {
		if p.kinds[i] != overdraft {
			f[a.nameOf(int(acct))] += maxCents
		}
	}
	return f
}
