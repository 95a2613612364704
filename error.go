package wallet

import (
	"errors"
	"fmt"
)

// Error codes of the domain, which the HTTP API reports; each is a stable
// string that clients may switch on.
const (
	EInvalidJSON      = "invalid_json"
	ERequestIDInvalid = "request_id_invalid"
	EFromRequired     = "from_required"
	EToRequired       = "to_required"
	ESameAccount      = "same_account"
	EAccountInvalid   = "account_invalid"
	EAmountLtMin      = "amount_lt_min"
	EAmountInvalid    = "amount_invalid"
	EAmountGtMax      = "amount_gt_max"
	EAccountNotFound  = "account_not_found"
	// Accounts.
	EUsernameInvalid       = "username_invalid"
	EUsernameTaken         = "username_taken"
	EOverdraftLimitInvalid = "overdraft_limit_invalid"
	ERequestIDConflict     = "request_id_conflict"
	// API keys.
	EKeyChangeInvalid = "key_change_invalid"
	ETooManyKeys      = "too_many_keys"
	EKeyNotFound      = "key_not_found"
	// Transfers.
	ETransferNotFound = "transfer_not_found"
	EUnavailable      = "unavailable"
	EInternal         = "internal"
)

// Error is a failure that a client can act on: a code from the list above
// and a human-readable message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
