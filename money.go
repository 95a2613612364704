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
	"math"
	"strings"
)

// maxExponent bounds the decimal exponent of a parsed amount, as written
// (1.000 has the exponent -3): ParseMoney refuses beyond it whatever the
// value, as it did when it computed with arbitrary-precision decimals.
const maxExponent = 30

// Money is an exact amount of US dollars with at most two decimal places:
// a whole number of cents in an int64. The zero value is 0.00.
//
// The range, ±92,233,720,368,547,758.07 (MaxInt64 cents; MinInt64 is
// -…758.08), is eight orders of magnitude above the largest transfer
// (DefaultMaxAmount, 10^11 cents) and the largest overdraft limit
// (DefaultMaxOverdraft, 10^5 cents). ParseMoney refuses an amount beyond
// it. Amounts and limits therefore always fit; a balance changes by at
// most one amount per instruction, so it reaches the bound only after
// 92 million deposits of the default largest amount into one account, or
// as many into the world (whose balance has no limit). Add, Sub and Neg never
// wrap: a result beyond the bound saturates at it, so a balance can never
// change sign by overflowing. A saturated balance would break
// conservation, so the accountant refuses a debit or a credit whose result
// would saturate (processors.Apply), and the audit would report one (the
// balances' sum, and each balance against what its completed transfers
// moved).
type Money struct {
	cents int64
}

// Cents returns the amount of n cents.
func Cents(n int64) Money {
	return Money{n}
}

// ParseMoney parses a decimal amount such as "0.5", "0.50" or "1e2". It
// rejects anything that is not a finite decimal number or that has more
// than two decimal places: money is never silently rounded.
//
// The syntax is shopspring/decimal's, which ParseMoney used before: digits
// with an optional sign and at most one decimal point ("1.", ".5" and
// "+1" are numbers), then optionally "e" or "E" and a decimal exponent
// with an optional sign. No spaces, no "_", no hexadecimal, NaN or
// Infinity. The exponent as written (after the point's digits are
// counted) must be from -30 to 30, and the amount within Money's range,
// or the amount is out of range.
func ParseMoney(s string) (Money, error) {
	c, why := parseCents(s)
	switch why {
	case 0:
		return Money{c}, nil
	case errNotNumber:
		return Money{}, amountError("amount %q is not a decimal number", s)
	case errPlaces:
		return Money{}, amountError("amount %q has more than two decimal places", s)
	}
	return Money{}, amountError("amount %q is out of range", s)
}

// amountError formats an error about s with a copy of s, so that s does
// not escape: a caller's string(bytes) conversion then needs no
// allocation.
func amountError(format, s string) error {
	return fmt.Errorf(format, strings.Clone(s))
}

// parseErr says why parseCents refused an amount, 0 if it did not;
// ParseMoney words it.
type parseErr byte

const (
	errNotNumber parseErr = iota + 1
	errRange
	errPlaces
)

// parseCents returns the cents of the decimal amount s, with ParseMoney's
// rules, without allocating: s is [+-]digits with at most one "."
// anywhere, even before the sign (".-5" is -0.05, as it was for
// shopspring/decimal, which dropped the point and then read the digits),
// then an optional exponent.
func parseCents(s string) (int64, parseErr) {
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "Ee"); i >= 0 {
		e, ok := parseExponent(s[i+1:])
		if !ok {
			return 0, errNotNumber
		}
		mant, exp = s[:i], e
	}
	// The digits are mant without its point; the sign, if any, is their
	// first character.
	dot := strings.IndexByte(mant, '.')
	digits := len(mant)
	if dot >= 0 {
		digits--
		exp -= int64(len(mant) - dot - 1)
	}
	at := func(i int) byte { // the i-th character of the digits
		if dot >= 0 && i >= dot {
			return mant[i+1]
		}
		return mant[i]
	}
	neg, first := false, 0
	if digits > 0 && (at(0) == '-' || at(0) == '+') {
		neg, first = at(0) == '-', 1
	}
	if first == digits {
		return 0, errNotNumber
	}
	for i := first; i < digits; i++ {
		if c := at(i); c < '0' || c > '9' {
			return 0, errNotNumber // a second point, a second sign, ...
		}
	}
	if exp < math.MinInt32 || exp > math.MaxInt32 {
		return 0, errNotNumber
	}
	if exp < -maxExponent || exp > maxExponent {
		return 0, errRange
	}
	// cents = digits × 10^(exp+2). With a negative shift, the digits it
	// drops must be zeros, or there are more than two decimal places.
	shift := int(exp) + 2
	last := digits
	if shift < 0 {
		last = max(first, digits+shift)
		for i := last; i < digits; i++ {
			if at(i) != '0' {
				return 0, errPlaces
			}
		}
		shift = 0
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var u uint64
	for i := first; i < last+shift; i++ {
		d := uint64(0)
		if i < last {
			d = uint64(at(i) - '0')
		}
		if u > (limit-d)/10 {
			return 0, errRange
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), 0 // -(MaxInt64+1) wraps to MinInt64, exactly
	}
	return int64(u), 0
}

// parseExponent parses an exponent as strconv.ParseInt(s, 10, 32) does:
// an optional sign, then decimal digits, within an int32.
func parseExponent(s string) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var e int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if e = e*10 + int64(s[i]-'0'); e > math.MaxInt32+1 {
			return 0, false
		}
	}
	if neg {
		e = -e
	}
	if e < math.MinInt32 || e > math.MaxInt32 {
		return 0, false
	}
	return e, true
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

// Cents returns the amount as a whole number of cents, exactly.
func (m Money) Cents() int64 { return m.cents }

// String formats the amount with exactly two decimal places, as in "-0.50".
func (m Money) String() string {
	var buf [24]byte
	return string(m.Append(buf[:0]))
}

// Append appends the amount as String formats it to b, without allocating.
func (m Money) Append(b []byte) []byte {
	u := uint64(m.cents)
	if m.cents < 0 {
		b = append(b, '-')
		u = -u // MinInt64's magnitude, as a uint64
	}
	var buf [20]byte
	i := len(buf)
	for n := 0; n < 3 || u > 0; n++ {
		if n == 2 {
			i--
			buf[i] = '.'
		}
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	return append(b, buf[i:]...)
}

// Add returns m + o; beyond Money's range, the bound (see Money).
func (m Money) Add(o Money) Money {
	s := m.cents + o.cents
	if (m.cents^s)&(o.cents^s) < 0 { // the sign of both operands, lost
		return saturated(o.cents > 0)
	}
	return Money{s}
}

// Sub returns m - o; beyond Money's range, the bound (see Money).
func (m Money) Sub(o Money) Money {
	d := m.cents - o.cents
	if (m.cents^o.cents)&(m.cents^d) < 0 {
		return saturated(o.cents < 0)
	}
	return Money{d}
}

// Neg returns -m; for the smallest Money, the largest.
func (m Money) Neg() Money {
	if m.cents == math.MinInt64 {
		return saturated(true)
	}
	return Money{-m.cents}
}

// saturated returns the largest Money if up, else the smallest.
func saturated(up bool) Money {
	if up {
		return Money{math.MaxInt64}
	}
	return Money{math.MinInt64}
}

// Cmp returns -1, 0 or +1 as m is less than, equal to or greater than o.
func (m Money) Cmp(o Money) int {
	switch {
	case m.cents < o.cents:
		return -1
	case m.cents > o.cents:
		return 1
	}
	return 0
}

func (m Money) Equal(o Money) bool       { return m.cents == o.cents }
func (m Money) IsZero() bool             { return m.cents == 0 }
func (m Money) IsNegative() bool         { return m.cents < 0 }
func (m Money) LessThan(o Money) bool    { return m.cents < o.cents }
func (m Money) GreaterThan(o Money) bool { return m.cents > o.cents }

// MarshalJSON writes the amount as a JSON string with two decimal places,
// so that no JSON reader ever turns it into a float.
func (m Money) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = m.Append(b)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an amount written as a JSON string or a JSON number,
// with ParseMoney's rules.
func (m *Money) UnmarshalJSON(b []byte) error {
	if text, ok := plainAmount(b); ok {
		// string(text) does not escape parseCents: no allocation.
		if c, why := parseCents(string(text)); why == 0 {
			*m = Money{c}
			return nil
		}
	}
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
	if text, ok := plainAmount(b); ok {
		return string(text), nil
	}
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

// plainAmount returns the text of the amount b when b is one that
// json.Unmarshal reads without changing it, as nearly every amount is: a
// JSON string of the characters of decimal numbers only (no escapes, no
// spaces), or a JSON number with no space around it. Otherwise it
// returns false and the caller asks json.Unmarshal.
func plainAmount(b []byte) ([]byte, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		text := b[1 : len(b)-1]
		for _, c := range text {
			if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
				return nil, false
			}
		}
		return text, true
	}
	return b, jsonNumber(b)
}

// jsonNumber reports whether b is exactly a JSON number (RFC 8259):
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}
