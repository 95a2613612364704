// Package ledger keeps the balances the wallet's accounts must end with:
// the sum of the transfers known to be accepted, in cents. The chaos
// harness, the load generator and the integration tests check what the
// view shows against one.
package ledger

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wallet/wallet"
)

// Ledger is every account's expected balance and the last transfer that
// touched it. The zero value is an empty ledger. It is not safe for
// concurrent use: keep one per goroutine and Merge them.
type Ledger struct {
	accounts map[string]entry
	next     int // one above the highest sequence number added
}

type entry struct {
	cents int64
	last  int // sequence number of the last transfer that touched the account
}

// Add records an accepted transfer of cents from one account to another;
// seq numbers it among the run's transfers, for Expected's order.
func (l *Ledger) Add(seq int, from, to string, cents int64) {
	if l.accounts == nil {
		l.accounts = map[string]entry{}
	}
	f := l.accounts[from]
	l.accounts[from] = entry{cents: f.cents - cents, last: max(f.last, seq)}
	t := l.accounts[to]
	l.accounts[to] = entry{cents: t.cents + cents, last: max(t.last, seq)}
	l.next = max(l.next, seq+1)
}

// Apply records an accepted transfer, after every one recorded so far.
func (l *Ledger) Apply(t wallet.Transfer) {
	l.Add(l.next, t.From, t.To, t.Amount.Cents())
}

// Start sets the balance an account had before the transfers recorded:
// on a cluster shared with other runs, World's, say.
func (l *Ledger) Start(account string, cents int64) {
	if l.accounts == nil {
		l.accounts = map[string]entry{}
	}
	e := l.accounts[account]
	e.cents += cents
	l.accounts[account] = e
}

// Open adds accounts that no transfer has touched yet: they must end at
// 0.00 unless one does.
func (l *Ledger) Open(names ...string) {
	if l.accounts == nil {
		l.accounts = map[string]entry{}
	}
	for _, n := range names {
		if _, ok := l.accounts[n]; !ok {
			l.accounts[n] = entry{}
		}
	}
}

// Merge adds the transfers recorded in o.
func (l *Ledger) Merge(o *Ledger) {
	if l.accounts == nil {
		l.accounts = make(map[string]entry, len(o.accounts))
	}
	for name, e := range o.accounts {
		x := l.accounts[name]
		l.accounts[name] = entry{cents: x.cents + e.cents, last: max(x.last, e.last)}
	}
	l.next = max(l.next, o.next)
}

// Balance returns the account's expected balance in cents: 0 for an
// account the ledger does not know.
func (l *Ledger) Balance(account string) int64 { return l.accounts[account].cents }

// Len returns how many accounts the ledger knows.
func (l *Ledger) Len() int { return len(l.accounts) }

// Accounts returns the names of the accounts the ledger knows, sorted.
func (l *Ledger) Accounts() []string {
	names := make([]string, 0, len(l.accounts))
	for name := range l.accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Sum returns the sum of the expected balances: zero, since every
// transfer moves money between two of the ledger's accounts.
func (l *Ledger) Sum() int64 {
	var s int64
	for _, e := range l.accounts {
		s += e.cents
	}
	return s
}

// Expectation is one account's expected balance.
type Expectation struct {
	Account string
	Cents   int64
}

// Expected lists the accounts to check, but not those in skip, most
// recently touched first: they are the likeliest to be still in flight.
func (l *Ledger) Expected(skip map[string]bool) []Expectation {
	type ranked struct {
		Expectation
		last int
	}
	rs := make([]ranked, 0, len(l.accounts))
	for name, e := range l.accounts {
		if !skip[name] {
			rs = append(rs, ranked{Expectation{name, e.cents}, e.last})
		}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Compare(b.last, a.last) })
	out := make([]Expectation, len(rs))
	for i, r := range rs {
		out[i] = r.Expectation
	}
	return out
}

// OutcomesText formats counts of transfers' outcomes, keyed "completed"
// or "rejected <reason>", the usual ones first in a fixed order:
// "completed 10, rejected insufficient_funds 3, rejected account_not_found 1".
func OutcomesText[N int | int64](counts map[string]N) string {
	fixed := []string{"completed", "rejected insufficient_funds", "rejected account_not_found"}
	var parts []string
	for _, k := range fixed {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(fixed, k) {
			parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
		}
	}
	return strings.Join(parts, ", ")
}
