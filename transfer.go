package wallet

import (
	"github.com/google/uuid"
)

// MinAmount is the smallest amount a transfer may move.
var MinAmount = Cents(1)

// DefaultMaxAmount is the largest amount a transfer may move unless
// configured otherwise.
var DefaultMaxAmount = MustParseMoney("1000000000.00")

// Transfer is a client's intent to move Amount from one account to another.
// RequestID is the client's idempotency key: posting the same transfer
// again is absorbed downstream. From and To are the names as the client
// typed them; AccountKey makes the accounts' keys from them.
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
	from, err := AccountKey(t.From)
	if err != nil {
		return err
	}
	to, err := AccountKey(t.To)
	if err != nil {
		return err
	}
	if from == to {
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

// Equal reports whether two transfers move the same amount between the same
// accounts under the same request ID, however the names were spelled.
func (t Transfer) Equal(o Transfer) bool {
	return t.RequestID == o.RequestID && t.Amount.Equal(o.Amount) &&
		sameAccount(t.From, o.From) && sameAccount(t.To, o.To)
}

// sameAccount reports whether two names are of one account.
func sameAccount(a, b string) bool {
	if a == b {
		return true
	}
	ka, err := AccountKey(a)
	if err != nil {
		return false
	}
	kb, err := AccountKey(b)
	return err == nil && ka == kb
}
