package codecs

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wallet/wallet"
)

// Account encodes the accountant's table value, a wallet.Account, in a
// compact binary form rather than JSON: the value is decoded and encoded
// again for every instruction to the account and written to the changelog
// each time, so its size and cost bound how fast a hot account can go and
// how fast the changelog grows. The form is
//
//	format byte (4)
//	uvarint next offset
//	flags byte: 1 if the account is open
//	uvarint offset from which the account is open
//	uvarint length, overdraft limit as a decimal string ("0.00")
//	uvarint length, balance as a decimal string ("-0.50")
//
// Format 3, which version 2 wrote, had a list of decisions after the
// balance, kept for re-emission; it decodes with the list dropped (a
// drained version 2 has no decision left to emit again). Values written
// by version 1 (formats 1 and 2) are refused: version 2 started afresh.
type Account struct{}

const (
	accountFormat   = 4
	accountFormatV2 = 3
	flagOpen        = 1
)

func (Account) Encode(value any) ([]byte, error) {
	a, ok := value.(wallet.Account)
	if !ok {
		return nil, fmt.Errorf("encode account: got %T", value)
	}
	if a.NextOffset < 0 {
		return nil, fmt.Errorf("encode account: negative next offset %d", a.NextOffset)
	}
	if a.OpenFrom < 0 {
		return nil, fmt.Errorf("encode account: negative open offset %d", a.OpenFrom)
	}
	limit, balance := a.OverdraftLimit.String(), a.Balance.String()
	b := make([]byte, 0, 2+4*binary.MaxVarintLen64+len(limit)+len(balance))
	b = append(b, accountFormat)
	b = binary.AppendUvarint(b, uint64(a.NextOffset))
	var flags byte
	if a.Open {
		flags |= flagOpen
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(a.OpenFrom))
	b = binary.AppendUvarint(b, uint64(len(limit)))
	b = append(b, limit...)
	b = binary.AppendUvarint(b, uint64(len(balance)))
	b = append(b, balance...)
	return b, nil
}

func (Account) Decode(data []byte) (any, error) {
	next, rest, err := accountHeader(data)
	if err != nil {
		return nil, err
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("decode account: no flags")
	}
	a := wallet.Account{NextOffset: next, Open: rest[0]&flagOpen != 0}
	opened, k := binary.Uvarint(rest[1:])
	if k <= 0 || opened > math.MaxInt64 {
		return nil, fmt.Errorf("decode account: bad open offset")
	}
	a.OpenFrom = int64(opened)
	rest = rest[1+k:]
	if a.OverdraftLimit, rest, err = money("overdraft limit", rest); err != nil {
		return nil, err
	}
	if a.Balance, rest, err = money("balance", rest); err != nil {
		return nil, err
	}
	if data[0] == accountFormatV2 {
		if rest, err = skipDecisions(rest); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("decode account: %d bytes after the balance", len(rest))
	}
	return a, nil
}

// skipDecisions reads past format 3's list of decisions: a count, then
// for each an offset and a verdict byte.
func skipDecisions(b []byte) ([]byte, error) {
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)-k)/2 {
		return nil, fmt.Errorf("decode account: %d bytes do not hold the decisions", len(b))
	}
	b = b[k:]
	for i := uint64(0); i < count; i++ {
		_, k := binary.Uvarint(b)
		if k <= 0 || len(b) <= k || !wallet.Verdict(b[k]).Valid() {
			return nil, fmt.Errorf("decode account: decision %d is malformed", i)
		}
		b = b[k+1:]
	}
	return b, nil
}

// money reads a length-prefixed decimal string.
func money(name string, b []byte) (wallet.Money, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return wallet.Money{}, nil, fmt.Errorf("decode account: truncated %s", name)
	}
	m, err := wallet.ParseMoney(string(b[k : k+int(n)]))
	if err != nil {
		return wallet.Money{}, nil, fmt.Errorf("decode account: %s: %w", name, err)
	}
	return m, b[k+int(n):], nil
}

// AccountNextOffset returns the NextOffset of an encoded account without
// decoding the rest, for comparing versions of an account cheaply.
func AccountNextOffset(data []byte) (int64, error) {
	next, _, err := accountHeader(data)
	return next, err
}

// accountHeader reads the format byte and the next offset, and returns the
// bytes after them.
func accountHeader(data []byte) (next int64, rest []byte, err error) {
	if len(data) == 0 {
		return 0, nil, fmt.Errorf("decode account: empty value")
	}
	if data[0] != accountFormat && data[0] != accountFormatV2 {
		return 0, nil, fmt.Errorf("decode account: unknown format %d (version 1 wrote formats 1 and 2)", data[0])
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n > math.MaxInt64 {
		return 0, nil, fmt.Errorf("decode account: bad next offset")
	}
	return int64(n), data[1+k:], nil
}
