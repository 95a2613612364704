package views

import (
	"fmt"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// Signups serves who owns each account from a local copy of the signup
// group's table: an account exists from the moment its claim is decided.
type Signups struct {
	*table
}

// NewSignups returns a view of the signup table. opts must say how to
// reach Kafka and where to keep the local copy (or goka.WithViewTester).
func NewSignups(brokers []string, opts ...goka.ViewOption) (*Signups, error) {
	t, err := newTable(brokers, topology.SignupTable, topology.SignupCodec, opts)
	if err != nil {
		return nil, err
	}
	return &Signups{table: t}, nil
}

// Signup returns the claim that won the account with the given key; ok is
// false while no claim of it has been decided.
func (s *Signups) Signup(key string) (signup wallet.Signup, ok bool, err error) {
	v, err := s.get(key)
	if err != nil {
		return wallet.Signup{}, false, fmt.Errorf("get signup %q: %w", key, err)
	}
	if v == nil {
		return wallet.Signup{}, false, nil
	}
	return v.(wallet.Signup), true, nil
}

// Keyed is a signup with its account key.
type Keyed struct {
	Key    string
	Signup wallet.Signup
}

// After returns up to limit signups whose keys come after the key after,
// in key order across all partitions.
func (s *Signups) After(after string, limit int) ([]Keyed, error) {
	// Keys are UTF-8, which never holds the byte 0xff: the range is every
	// key above after.
	var page []Keyed
	err := s.use(func(view *goka.View) error {
		it, err := view.IteratorWithRange(after+"\x00", "\xff")
		if err != nil {
			return fmt.Errorf("iterate %s after %q: %w", topology.SignupTable, after, err)
		}
		defer it.Release()
		for len(page) < limit && it.Next() {
			v, err := it.Value()
			if err != nil {
				return fmt.Errorf("iterate %s: signup %q: %w", topology.SignupTable, it.Key(), err)
			}
			if v != nil {
				page = append(page, Keyed{Key: it.Key(), Signup: v.(wallet.Signup)})
			}
		}
		return it.Err()
	})
	return page, err
}
