package wallet

import (
	"fmt"

	"github.com/google/uuid"
)

// Direction says whether a payment leaves or enters its account.
type Direction string

const (
	Outgoing Direction = "outgoing"
	Incoming Direction = "incoming"
)

// Payment is one side of a transfer, as seen by one account: the sender's
// outgoing payment or the recipient's incoming one. The pair
// (RequestID, Direction) identifies it within its account.
type Payment struct {
	RequestID uuid.UUID `json:"request_id"`
	Account   string    `json:"account"`
	Direction Direction `json:"direction"`
	Amount    Money     `json:"amount"`
}

// Payments splits a transfer into the sender's outgoing payment and the
// recipient's incoming payment, in that order.
func (t Transfer) Payments() [2]Payment {
	return [2]Payment{
		{RequestID: t.RequestID, Account: t.From, Direction: Outgoing, Amount: t.Amount},
		{RequestID: t.RequestID, Account: t.To, Direction: Incoming, Amount: t.Amount},
	}
}

// Signed returns the amount as it changes the balance: negative for an
// outgoing payment.
func (p Payment) Signed() Money {
	if p.Direction == Outgoing {
		return p.Amount.Neg()
	}
	return p.Amount
}

// Validate checks a payment read from Kafka.
func (p Payment) Validate() error {
	if p.RequestID == uuid.Nil {
		return Errorf(ERequestIDInvalid, "payment request ID must be valid UUID")
	}
	if err := ValidateAccount(p.Account); err != nil {
		return err
	}
	if p.Direction != Outgoing && p.Direction != Incoming {
		return Errorf(EInvalidJSON, "payment direction %q must be %q or %q", p.Direction, Outgoing, Incoming)
	}
	if p.Amount.LessThan(MinAmount) {
		return Errorf(EAmountLtMin, "payment amount %s must be at least %s", p.Amount, MinAmount)
	}
	return nil
}

// String formats the payment as the primer prints it:
// "<request_id> Alice -$0.50", or "+$0.50" for an incoming payment.
func (p Payment) String() string {
	sign := "+"
	if p.Direction == Outgoing {
		sign = "-"
	}
	return fmt.Sprintf("%s %s %s$%s", p.RequestID, p.Account, sign, p.Amount)
}
