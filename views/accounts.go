// Package views holds the read side of the wallet: a goka View of the
// accountant's table, kept up to date locally, from which balances are
// served.
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
// The view keeps the newest version of each account, as the accountant
// does when it recovers (processors.StoreNewest).
func NewAccounts(brokers []string, opts ...goka.ViewOption) (*Accounts, error) {
	opts = append([]goka.ViewOption{goka.WithViewCallback(processors.NewestAccount)}, opts...)
	t, err := newTable(brokers, topology.AccountTable, topology.AccountCodec, opts)
	if err != nil {
		return nil, err
	}
	return &Accounts{table: t}, nil
}

// Account returns the state of the named account; ok is false for an
// account that has never had a payment.
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

// Each calls fn for every account in the view, stopping at the first error.
func (a *Accounts) Each(fn func(name string, acct wallet.Account) error) error {
	return a.use(func(view *goka.View) error {
		it, err := view.Iterator()
		if err != nil {
			return fmt.Errorf("iterate %s: %w", topology.AccountTable, err)
		}
		defer it.Release()
		for it.Next() {
			v, err := it.Value()
			if err != nil {
				return fmt.Errorf("iterate %s: account %q: %w", topology.AccountTable, it.Key(), err)
			}
			if v == nil {
				continue
			}
			if err := fn(it.Key(), v.(wallet.Account)); err != nil {
				return err
			}
		}
		return it.Err()
	})
}
