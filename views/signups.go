package views

import (
	"fmt"
	"log/slog"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// Signups serves who owns each account from a local copy of the signup
// group's table: an account exists from the moment its claim is decided.
type Signups struct {
	*table
}

// NewSignups returns a view of the signup table. opts must say how to
// reach Kafka and where to keep the local copy (or goka.WithViewTester).
// The view reads the table as the signup group does when it recovers
// (processors.Bounds.ReadSignups), with b, which must validate: the first
// claim of a name stays its winner, and records that no processor wrote
// are ignored. Reads decode each value's bytes once (signupMemo).
func NewSignups(brokers []string, b processors.Bounds, opts ...goka.ViewOption) (*Signups, error) {
	codec := newSignupMemo(topology.SignupCodec, memoBytes)
	t, err := newTable(brokers, topology.SignupTable, codec, b, processors.Bounds.ReadSignups, opts)
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

// Each calls fn for every signup in the view, stopping at the first error
// fn returns. A signup whose value does not decode is given to fn with its
// key and the error, so that the others are still read.
func (s *Signups) Each(fn func(key string, signup wallet.Signup, err error) error) error {
	return s.each(func(key string, v any, err error) error {
		if err != nil {
			return fn(key, wallet.Signup{}, err)
		}
		return fn(key, v.(wallet.Signup), nil)
	})
}

// Keyed is a signup with its account key.
type Keyed struct {
	Key    string
	Signup wallet.Signup
}

// After returns up to limit signups whose keys come after the key after,
// in key order across all partitions, and the key to pass as after for
// the next page: the last key read, or "" when there is no more. A signup
// whose value does not decode is left out (its account answers 503 on
// its own), and does not end the page.
func (s *Signups) After(after string, limit int) (page []Keyed, next string, err error) {
	// Keys are UTF-8, which never holds the byte 0xff: the range is every
	// key above after.
	err = s.use(func(view *goka.View) error {
		it, err := view.IteratorWithRange(after+"\x00", "\xff")
		if err != nil {
			return fmt.Errorf("iterate %s after %q: %w", topology.SignupTable, after, err)
		}
		defer it.Release()
		read := 0
		for read < limit && it.Next() {
			read++
			next = it.Key()
			v, err := it.Value()
			if err != nil {
				slog.Warn("left a signup that does not decode out of a page", "key", it.Key(), "error", err)
				continue
			}
			if v != nil {
				page = append(page, Keyed{Key: it.Key(), Signup: v.(wallet.Signup)})
			}
		}
		if read < limit {
			next = ""
		}
		return it.Err()
	})
	return page, next, err
}
