// Package views holds the read side of the wallet: goka Views of the three
// tables (signups, transfers, accounts), kept up to date locally from their
// changelogs, read_committed, each record checked by the processors' rules
// (processors.Bounds), from which the API answers.
package views

import (
	"fmt"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// Accounts serves account state from a local copy of the accountant table.
type Accounts struct {
	*table
}

// NewAccounts returns a view of the accountant table. opts must say how to
// reach Kafka and where to keep the local copy (or goka.WithViewTester).
// The view reads the table as the accountant does when it recovers
// (processors.Bounds.ReadAccounts), with b, which must validate: records
// that no processor wrote are ignored.
func NewAccounts(brokers []string, b processors.Bounds, opts ...goka.ViewOption) (*Accounts, error) {
	t, err := newTable(brokers, topology.AccountTable, topology.AccountCodec, b, processors.Bounds.ReadAccounts, opts)
	if err != nil {
		return nil, err
	}
	return &Accounts{table: t}, nil
}

// Account returns the state of the named account; ok is false for an
// account that has never had an instruction.
func (a *Accounts) Account(name string) (acct wallet.Account, ok bool, err error) {
	v, err := a.get(name)
	if err != nil {
		return wallet.Account{}, false, fmt.Errorf("get account %q: %w", name, err)
	}
	if v == nil {
		return wallet.Account{}, false, nil
	}
	return v.(wallet.Account), true, nil
}

// Each calls fn for every account in the view, stopping at the first
// error fn returns. An account whose value does not decode is given to fn
// with the error, so that the others are still read.
func (a *Accounts) Each(fn func(name string, acct wallet.Account, err error) error) error {
	return a.each(func(key string, v any, err error) error {
		if err != nil {
			return fn(key, wallet.Account{}, err)
		}
		return fn(key, v.(wallet.Account), nil)
	})
}
