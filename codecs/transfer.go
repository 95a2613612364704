package codecs

import (
	"fmt"

	"github.com/wallet/wallet"
)

// Transfer encodes a wallet.Transfer; Decode rejects a transfer that fails
// validation.
type Transfer struct{}

func (Transfer) Encode(value any) ([]byte, error) {
	return encode[wallet.Transfer]("transfer", value)
}

func (Transfer) Decode(data []byte) (any, error) {
	var t wallet.Transfer
	if err := decode("transfer", data, &t); err != nil {
		return nil, err
	}
	if err := t.Validate(wallet.Money{}); err != nil {
		return nil, fmt.Errorf("decode transfer: %w", err)
	}
	return t, nil
}
