package codecs

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wallet/wallet"
)

// Account encodes the accountant's table value, a wallet.Account, in a
// compact binary form rather than JSON: the value is decoded and encoded
// again for every payment to the account, dedupe set and all, so its cost
// bounds how fast a hot account can go. The form is
//
//	format byte (2)
//	uvarint next offset
//	uvarint length, balance as a decimal string ("-0.50")
//	uvarint count, then count records of 25 bytes:
//	  request ID (16 bytes), 'o' or 'i', message time in Unix seconds (int64, big-endian)
//
// Format 1, written before the next offset was kept, is the same without
// it; it decodes with a next offset of 0.
type Account struct{}

const (
	accountFormat   = 2
	accountFormatV1 = 1
	appliedRecord   = 16 + 1 + 8
)

func (Account) Encode(value any) ([]byte, error) {
	a, ok := value.(wallet.Account)
	if !ok {
		return nil, fmt.Errorf("encode account: got %T", value)
	}
	balance := a.Balance.String()
	if a.NextOffset < 0 {
		return nil, fmt.Errorf("encode account: negative next offset %d", a.NextOffset)
	}
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(balance)+len(a.Applied)*appliedRecord)
	b = append(b, accountFormat)
	b = binary.AppendUvarint(b, uint64(a.NextOffset))
	b = binary.AppendUvarint(b, uint64(len(balance)))
	b = append(b, balance...)
	b = binary.AppendUvarint(b, uint64(len(a.Applied)))
	for _, p := range a.Applied {
		b = append(b, p.RequestID[:]...)
		switch p.Direction {
		case wallet.Outgoing:
			b = append(b, 'o')
		case wallet.Incoming:
			b = append(b, 'i')
		default:
			return nil, fmt.Errorf("encode account: applied payment %s has direction %q", p.RequestID, p.Direction)
		}
		b = binary.BigEndian.AppendUint64(b, uint64(p.At))
	}
	return b, nil
}

func (Account) Decode(data []byte) (any, error) {
	next, rest, err := accountHeader(data)
	if err != nil {
		return nil, err
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, fmt.Errorf("decode account: truncated balance")
	}
	balance, err := wallet.ParseMoney(string(rest[k : k+int(n)]))
	if err != nil {
		return nil, fmt.Errorf("decode account: balance: %w", err)
	}
	rest = rest[k+int(n):]
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)-k)/appliedRecord || count*appliedRecord != uint64(len(rest)-k) {
		return nil, fmt.Errorf("decode account: %d bytes do not hold the applied payments", len(rest))
	}
	rest = rest[k:]
	applied := make(wallet.Applied, count)
	for i := range applied {
		r := rest[i*appliedRecord : (i+1)*appliedRecord]
		copy(applied[i].RequestID[:], r[:16])
		switch r[16] {
		case 'o':
			applied[i].Direction = wallet.Outgoing
		case 'i':
			applied[i].Direction = wallet.Incoming
		default:
			return nil, fmt.Errorf("decode account: applied payment %d has direction %q", i, r[16])
		}
		applied[i].At = int64(binary.BigEndian.Uint64(r[17:]))
	}
	return wallet.Account{Balance: balance, Applied: applied, NextOffset: next}, nil
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
	switch data[0] {
	case accountFormatV1:
		return 0, data[1:], nil
	case accountFormat:
		n, k := binary.Uvarint(data[1:])
		if k <= 0 || n > math.MaxInt64 {
			return 0, nil, fmt.Errorf("decode account: bad next offset")
		}
		return int64(n), data[1+k:], nil
	}
	return 0, nil, fmt.Errorf("decode account: unknown format %d", data[0])
}
