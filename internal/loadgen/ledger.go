package loadgen

import (
	"cmp"
	"slices"
)

// ledger keeps the balance every account must end with, in cents, from
// the transfers answered 201 only, and when each was last touched.
type ledger map[string]entry

type entry struct {
	cents int64
	last  int // index of the last transfer that touched the account
}

// add records accepted transfer number seq.
func (l ledger) add(seq int, from, to string, cents int64) {
	f := l[from]
	l[from] = entry{cents: f.cents - cents, last: max(f.last, seq)}
	t := l[to]
	l[to] = entry{cents: t.cents + cents, last: max(t.last, seq)}
}

// merge adds o into l.
func (l ledger) merge(o ledger) {
	for name, e := range o {
		x, ok := l[name]
		if !ok {
			l[name] = e
			continue
		}
		l[name] = entry{cents: x.cents + e.cents, last: max(x.last, e.last)}
	}
}

// expectation is one account's final balance.
type expectation struct {
	account string
	cents   int64
}

// pending lists the accounts to check, but not those in skip, most
// recently touched first: they are the likeliest to be still in flight.
func (l ledger) pending(skip map[string]bool) []expectation {
	type ranked struct {
		expectation
		last int
	}
	rs := make([]ranked, 0, len(l))
	for name, e := range l {
		if !skip[name] {
			rs = append(rs, ranked{expectation{name, e.cents}, e.last})
		}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Compare(b.last, a.last) })
	out := make([]expectation, len(rs))
	for i, r := range rs {
		out[i] = r.expectation
	}
	return out
}

// sum returns the sum of the expected balances: zero, since every
// transfer moves money between two of the ledger's accounts.
func (l ledger) sum() int64 {
	var s int64
	for _, e := range l {
		s += e.cents
	}
	return s
}
