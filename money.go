// Package wallet holds the domain types of the wallet: money, account keys
// (usernames folded to their confusable skeletons), claims and signups, API
// keys and their changes, transfers, their instructions and outcomes, the
// state of a transfer and of an account, their validation, and the error
// codes that the HTTP API reports. It imports neither Kafka nor goka; the
// packages that handle the wallet's data import it, and the plumbing
// (broker, disk, kafka, rocksdb, topology) does not.
package wallet

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"
)

// maxExponent bounds the decimal exponent of a parsed amount, far beyond
// any real amount.
const maxExponent = 30

// Money is an exact amount of US dollars with at most two decimal places.
// The zero value is 0.00.
type Money struct {
	d decimal.Decimal
}

// Cents returns the amount of n cents.
func Cents(n int64) Money {
	return Money{decimal.New(n, -2)}
}

// ParseMoney parses a decimal amount such as "0.5", "0.50" or "1e2". It
// rejects anything that is not a finite decimal number or that has more
// than two decimal places: money is never silently rounded.
func ParseMoney(s string) (Money, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q is not a decimal number", s)
	}
	// Rescaling to an exponent like 1e-30000000 computes 10^30000000: bound
	// it before any arithmetic, or a 100-byte request costs seconds of CPU.
	if e := d.Exponent(); e < -maxExponent || e > maxExponent {
		return Money{}, fmt.Errorf("amount %q is out of range", s)
	}
	if !d.Equal(d.Truncate(2)) {
		return Money{}, fmt.Errorf("amount %q has more than two decimal places", s)
	}
	return Money{d}, nil
}

// MustParseMoney is ParseMoney for constants in tests and defaults; it
// panics on a malformed amount.
func MustParseMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Cents returns the amount as a whole number of cents: exact, since a
// Money has at most two decimal places, for any amount whose cents fit in
// an int64.
func (m Money) Cents() int64 { return m.d.Shift(2).IntPart() }

// String formats the amount with exactly two decimal places, as in "-0.50".
func (m Money) String() string { return m.d.StringFixed(2) }

func (m Money) Add(o Money) Money        { return Money{m.d.Add(o.d)} }
func (m Money) Sub(o Money) Money        { return Money{m.d.Sub(o.d)} }
func (m Money) Neg() Money               { return Money{m.d.Neg()} }
func (m Money) Cmp(o Money) int          { return m.d.Cmp(o.d) }
func (m Money) Equal(o Money) bool       { return m.d.Equal(o.d) }
func (m Money) IsZero() bool             { return m.d.IsZero() }
func (m Money) IsNegative() bool         { return m.d.IsNegative() }
func (m Money) LessThan(o Money) bool    { return m.d.LessThan(o.d) }
func (m Money) GreaterThan(o Money) bool { return m.d.GreaterThan(o.d) }

// MarshalJSON writes the amount as a JSON string with two decimal places,
// so that no JSON reader ever turns it into a float.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(`"` + m.String() + `"`), nil
}

// UnmarshalJSON reads an amount written as a JSON string or a JSON number,
// with ParseMoney's rules.
func (m *Money) UnmarshalJSON(b []byte) error {
	s, err := AmountText(b)
	if err != nil {
		return err
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// AmountText returns the text of an amount written as a JSON string or
// number; the API uses it to tell a malformed body from a malformed amount.
func AmountText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("amount must be a JSON string or number")
	}
	return n.String(), nil
}
