package wallet

import (
	"bytes"
	"encoding/json"
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
	RequestID string `json:"request_id"`
	From      string `json:"from"`
	Amount    Money  `json:"amount"`
	To        string `json:"to"`
}

// Validate reports the first problem with a transfer as an *Error, checking
// the fields in the order the API documents. max is the largest amount
// allowed; the zero Money means DefaultMaxAmount.
func (t Transfer) Validate(max Money) error {
	if max.IsZero() {
		max = DefaultMaxAmount
	}
	if !validRequestID(t.RequestID) {
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

// validRequestID reports whether s is a UUID in canonical lower-case form,
// the only form a stored transfer has.
func validRequestID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u != uuid.Nil && u.String() == s
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

// TransferRequest is the body of POST /api/v1/transfers as a client sends
// it, before normalisation and validation.
type TransferRequest struct {
	RequestID *string         `json:"request_id"`
	From      *string         `json:"from"`
	To        *string         `json:"to"`
	Amount    json.RawMessage `json:"amount"`
}

// DecodeTransfer parses a client's JSON body into a normalised, valid
// Transfer: request ID in canonical lower-case form, account names
// trimmed, amount exact. Every failure is an *Error with the code the API
// documents. max is as for Transfer.Validate.
func DecodeTransfer(body []byte, max Money) (Transfer, error) {
	var req TransferRequest
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &req) != nil {
		return Transfer{}, Errorf(EInvalidJSON, "problems parsing JSON")
	}
	var t Transfer
	if req.RequestID != nil {
		if u, err := uuid.Parse(strings.TrimSpace(*req.RequestID)); err == nil {
			t.RequestID = u.String()
		}
	}
	if req.From != nil {
		t.From = strings.TrimSpace(*req.From)
	}
	if req.To != nil {
		t.To = strings.TrimSpace(*req.To)
	}
	// Validate everything but the amount first, so that the codes come in
	// the documented order.
	t.Amount = MinAmount
	if err := t.Validate(max); err != nil {
		return Transfer{}, err
	}
	amount, err := decodeAmount(req.Amount)
	if err != nil {
		return Transfer{}, err
	}
	t.Amount = amount
	if err := t.Validate(max); err != nil {
		return Transfer{}, err
	}
	return t, nil
}

// decodeAmount reads the amount as a JSON string or number. Anything else
// is invalid_json; a value that is not an exact two-place decimal is
// amount_invalid.
func decodeAmount(raw json.RawMessage) (Money, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Money{}, Errorf(EAmountInvalid, "amount is required")
	}
	s, err := amountText(raw)
	if err != nil {
		return Money{}, Errorf(EInvalidJSON, "problems parsing JSON")
	}
	m, err := ParseMoney(strings.TrimSpace(s))
	if err != nil {
		return Money{}, Errorf(EAmountInvalid, "%v", err)
	}
	return m, nil
}

// Equal reports whether two transfers move the same amount between the same
// accounts under the same request ID.
func (t Transfer) Equal(o Transfer) bool {
	return t.RequestID == o.RequestID && t.From == o.From && t.To == o.To && t.Amount.Equal(o.Amount)
}
