package wallet

import (
	"strings"

	"golang.org/x/text/secure/precis"
)

// World is the reserved account that stands for everything outside the
// wallet: deposits are transfers from it and withdrawals transfers to it.
// It exists from the start, and it alone may go below zero without limit,
// so that the balances of all accounts, World's included, sum to 0.00.
const World = "@world"

// MaxAccountLen is the longest account key, in bytes.
const MaxAccountLen = 64

// AccountKey returns the key of the account that name stands for: its
// canonical form by PRECIS UsernameCaseMapped (RFC 8265), so that "Alice",
// "alice" and a full-width "Ａｌｉｃｅ" are one account. Every path that
// takes an account name goes through it: the key routes the account's
// messages to its one partition, and it is what the tables are keyed by.
//
// World is its own key. Any other name beginning with "@" is reserved, as
// is a name that PRECIS refuses (spaces, control and other disallowed
// characters) or whose key is empty or longer than MaxAccountLen bytes:
// those are account_invalid errors.
func AccountKey(name string) (string, error) {
	// Width mapping shrinks a name by at most a factor of 4 (a four-byte
	// rune to one byte): refuse what cannot fit before working on it.
	if len(name) > 4*MaxAccountLen {
		return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	if rest, ok := strings.CutPrefix(name, "@"); ok {
		if key, err := precis.UsernameCaseMapped.String(rest); err == nil && "@"+key == World {
			return World, nil
		}
		return "", Errorf(EAccountInvalid, "account names beginning with @ are reserved")
	}
	key, err := precis.UsernameCaseMapped.String(name)
	if err != nil {
		return "", Errorf(EAccountInvalid, "account name %q is not a valid username: letters, digits and symbols without spaces (RFC 8265)", name)
	}
	if key == "" || len(key) > MaxAccountLen {
		return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	return key, nil
}

// UsernameKey returns the key of an account that may be signed up as name:
// AccountKey's, with World refused too. Errors are username_invalid.
func UsernameKey(name string) (string, error) {
	key, err := AccountKey(name)
	if err != nil {
		return "", Errorf(EUsernameInvalid, "%s", err.(*Error).Message)
	}
	if key == World {
		return "", Errorf(EUsernameInvalid, "account names beginning with @ are reserved")
	}
	return key, nil
}
