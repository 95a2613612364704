package wallet

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxAccountLen is the longest account name, in bytes.
const MaxAccountLen = 64

// MinAmount is the smallest amount a transfer may move.
var MinAmount = Cents(1)

// DefaultMaxAmount is the largest amount a transfer may move unless
// configured otherwise.
var DefaultMaxAmount = MustParseMoney("1000000000.00")

// Transfer is a client's intent to move Amount from one account to another.
// RequestID is the client's idempotency key: posting the same transfer
// again is absorbed downstream.
type Transfer struct {
	RequestID uuid.UUID `json:"request_id"`
	From      string    `json:"from"`
	Amount    Money     `json:"amount"`
	To        string    `json:"to"`
}

// Validate reports the first problem with a transfer as an *Error, checking
// the fields in the order the API documents. max is the largest amount
// allowed; the zero Money means DefaultMaxAmount.
func (t Transfer) Validate(max Money) error {
	if max.IsZero() {
		max = DefaultMaxAmount
	}
	if t.RequestID == uuid.Nil {
		return Errorf(ERequestIDInvalid, "transfer request ID must be valid UUID")
	}
	if t.From == "" {
		return Errorf(EFromRequired, "transfer sender account is required")
	}
	if t.To == "" {
		return Errorf(EToRequired, "transfer recipient account is required")
	}
	if err := ValidateAccount(t.From); err != nil {
		return err
	}
	if err := ValidateAccount(t.To); err != nil {
		return err
	}
	if t.From == t.To {
		return Errorf(ESameAccount, "transfer sender and recipient must be different accounts")
	}
	if t.Amount.LessThan(MinAmount) {
		return Errorf(EAmountLtMin, "ensure this value is greater than 0.01")
	}
	if t.Amount.GreaterThan(max) {
		return Errorf(EAmountGtMax, "ensure this value is at most %s", max)
	}
	return nil
}

// ValidateAccount checks an account name: non-empty, at most MaxAccountLen
// bytes of valid UTF-8 without control characters or surrounding spaces.
func ValidateAccount(name string) error {
	if name == "" || len(name) > MaxAccountLen {
		return Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	if !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return Errorf(EAccountInvalid, "account name must be valid UTF-8 without surrounding spaces")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Errorf(EAccountInvalid, "account name must not contain control characters")
		}
		// encoding/json turns invalid UTF-8 into U+FFFD, which would make
		// different byte strings the same account.
		if r == utf8.RuneError {
			return Errorf(EAccountInvalid, "account name must be valid UTF-8")
		}
	}
	return nil
}

// Equal reports whether two transfers move the same amount between the same
// accounts under the same request ID.
func (t Transfer) Equal(o Transfer) bool {
	return t.RequestID == o.RequestID && t.From == o.From && t.To == o.To && t.Amount.Equal(o.Amount)
}
