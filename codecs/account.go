package codecs

import "github.com/wallet/wallet"

// Account encodes the accountant's table value, a wallet.Account.
type Account struct{}

func (Account) Encode(value any) ([]byte, error) {
	return encode[wallet.Account]("account", value)
}

func (Account) Decode(data []byte) (any, error) {
	var a wallet.Account
	if err := decode("account", data, &a); err != nil {
		return nil, err
	}
	return a, nil
}
