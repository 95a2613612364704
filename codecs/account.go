package codecs

import (
	"encoding/binary"
	"fmt"

	"github.com/wallet/wallet"
)

// Account encodes the accountant's table value, a wallet.Account, in a
// compact binary form rather than JSON: the value is decoded and encoded
// again for every payment to the account, dedupe set and all, so its cost
// bounds how fast a hot account can go. The form is
//
//	version byte (1)
//	uvarint length, balance as a decimal string ("-0.50")
//	uvarint count, then count records of 25 bytes:
//	  request ID (16 bytes), 'o' or 'i', message time in Unix seconds (int64, big-endian)
type Account struct{}

const (
	accountVersion = 1
	appliedRecord  = 16 + 1 + 8
)

func (Account) Encode(value any) ([]byte, error) {
	a, ok := value.(wallet.Account)
	if !ok {
		return nil, fmt.Errorf("encode account: got %T", value)
	}
	balance := a.Balance.String()
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(balance)+len(a.Applied)*appliedRecord)
	b = append(b, accountVersion)
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
	if len(data) == 0 || data[0] != accountVersion {
		return nil, fmt.Errorf("decode account: not a version %d account value", accountVersion)
	}
	rest := data[1:]
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
	return wallet.Account{Balance: balance, Applied: applied}, nil
}
