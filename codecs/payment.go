package codecs

import (
	"fmt"

	"github.com/wallet/wallet"
)

// Payment encodes a wallet.Payment; Decode rejects a payment that fails
// validation.
type Payment struct{}

func (Payment) Encode(value any) ([]byte, error) {
	return encode[wallet.Payment]("payment", value)
}

func (Payment) Decode(data []byte) (any, error) {
	var p wallet.Payment
	if err := decode("payment", data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("decode payment: %w", err)
	}
	return p, nil
}
