package loadgen

import (
	"math/rand/v2"
	"strconv"
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
	f := a.one()
	if a.hotShare > 0 && a.rng.IntN(100) < a.hotShare {
		return a.name(f), a.merchant()
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
	return a.name(f), a.name(t)
}
