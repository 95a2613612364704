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
// the fields in the order the API documents: as Check does, then the
// amount against max, the largest allowed (the zero Money means
// DefaultMaxAmount).
func (t Transfer) Validate(max Money) error {
	if err := t.Check(); err != nil {
		return err
	}
	return CheckMaxAmount(t.Amount, max)
}

// CheckMaxAmount reports an amount above max, the largest a transfer may
// move (the zero Money means DefaultMaxAmount), as amount_gt_max. The API
// and the processors call it with the same configured maximum, so that
// what one accepts the other does too, and the message states the limit
// in force.
func CheckMaxAmount(amount, max Money) error {
	if max.IsZero() {
		max = DefaultMaxAmount
	}
	if amount.GreaterThan(max) {
		return Errorf(EAmountGtMax, "ensure this value is at most %s", max)
	}
	return nil
}

// Check checks what any transfer must be, whatever the configured maximum
// amount: a request ID, two names of different accounts, an amount of at
// least MinAmount. The codecs check this much; the maximum is a setting,
// which the API and the processors check with Validate or CheckMaxAmount.
func (t Transfer) Check() error {
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
