package wallet

import (
	"fmt"

	"github.com/google/uuid"
)

// Kind says what an instruction does to its account.
type Kind string

const (
	// Open opens the account: the signup group's decision that a claim of
	// its username won.
	Open Kind = "open"
	// Debit takes a transfer's amount from the sender's account.
	Debit Kind = "debit"
	// Credit gives a transfer's amount to the recipient's account, once its
	// debit was accepted.
	Credit Kind = "credit"
	// Refund gives a transfer's amount back to the sender's account, when
	// the recipient was not open to credit.
	Refund Kind = "refund"
)

// Instruction is one message of an account's log, wallet.payment: every
// change to an account is one, in one order. The pair (RequestID, Kind)
// identifies it within its account: Alice's debit and Bob's credit share
// a request ID and may share a partition.
type Instruction struct {
	RequestID uuid.UUID
	Kind      Kind
	// Account is the key of the account the instruction is for.
	Account string
	// From, To and Amount are the transfer as it was requested, names as
	// typed, for a debit, a credit or a refund.
	From, To string
	Amount   Money
	// Username is the name as signed up and OverdraftLimit the limit, for
	// an open.
	Username       string
	OverdraftLimit Money
}

// Debit returns the transfer's first instruction, the sender's debit. The
// transfer must be valid.
func (t Transfer) Debit() Instruction {
	from, _ := AccountKey(t.From)
	return Instruction{RequestID: t.RequestID, Kind: Debit, Account: from, From: t.From, To: t.To, Amount: t.Amount}
}

// Next returns the instruction that follows a debit (the credit, to the
// recipient) or a credit (the refund, to the sender).
func (in Instruction) Next() Instruction {
	next := in
	if in.Kind == Debit {
		next.Kind, next.Account = Credit, mustKey(in.To)
	} else {
		next.Kind, next.Account = Refund, mustKey(in.From)
	}
	return next
}

// Transfer returns the transfer that a debit, credit or refund carries out.
func (in Instruction) Transfer() Transfer {
	return Transfer{RequestID: in.RequestID, From: in.From, To: in.To, Amount: in.Amount}
}

// mustKey returns the key of a name already validated.
func mustKey(name string) string {
	key, _ := AccountKey(name)
	return key
}

// Signed returns what the instruction adds to the balance when applied:
// the amount, negative for a debit, and nothing for an open.
func (in Instruction) Signed() Money {
	switch in.Kind {
	case Debit:
		return in.Amount.Neg()
	case Credit, Refund:
		return in.Amount
	}
	return Money{}
}

// Name returns the account's name as it was typed in the request that the
// instruction carries out.
func (in Instruction) Name() string {
	switch in.Kind {
	case Open:
		return in.Username
	case Credit:
		return in.To
	}
	return in.From
}

// Validate checks an instruction read from Kafka: it must be one that a
// processor could have written.
func (in Instruction) Validate() error {
	if in.RequestID == uuid.Nil {
		return Errorf(ERequestIDInvalid, "instruction request ID must be a valid UUID")
	}
	switch in.Kind {
	case Open:
		if in.OverdraftLimit.IsNegative() {
			return Errorf(EOverdraftLimitInvalid, "open %s: overdraft limit %s is negative", in.Account, in.OverdraftLimit)
		}
	case Debit, Credit, Refund:
		if in.Amount.LessThan(MinAmount) {
			return Errorf(EAmountLtMin, "%s amount %s must be at least %s", in.Kind, in.Amount, MinAmount)
		}
	default:
		return Errorf(EInvalidJSON, "instruction kind %q must be %q, %q, %q or %q", in.Kind, Open, Debit, Credit, Refund)
	}
	key, err := AccountKey(in.Name())
	if err != nil {
		return err
	}
	if key != in.Account {
		return Errorf(EAccountInvalid, "%s for %q names the account %q", in.Kind, in.Account, key)
	}
	return nil
}

// Bounded reports an instruction that no processor could have written
// under the configured maximums: a debit, credit or refund of more than
// maxAmount (as CheckMaxAmount), or an open with an overdraft limit above
// maxOverdraft (the zero Money means DefaultMaxOverdraft). Validate, which
// the codec calls, cannot know the maximums: they are settings.
func (in Instruction) Bounded(maxAmount, maxOverdraft Money) error {
	if in.Kind != Open {
		return CheckMaxAmount(in.Amount, maxAmount)
	}
	if maxOverdraft.IsZero() {
		maxOverdraft = DefaultMaxOverdraft
	}
	if in.OverdraftLimit.GreaterThan(maxOverdraft) {
		return Errorf(EOverdraftLimitInvalid, "overdraft limit must be from 0.00 to %s", maxOverdraft)
	}
	return nil
}

// String formats the instruction as the primer prints it:
// "<request_id> Alice -$0.50", "+$0.50" for a credit.
func (in Instruction) String() string {
	switch in.Kind {
	case Open:
		return fmt.Sprintf("%s %s opened, overdraft limit %s", in.RequestID, in.Username, in.OverdraftLimit)
	case Debit:
		return fmt.Sprintf("%s %s -$%s", in.RequestID, in.From, in.Amount)
	case Refund:
		return fmt.Sprintf("%s %s +$%s (refund: %s is not an account)", in.RequestID, in.From, in.Amount, in.To)
	}
	return fmt.Sprintf("%s %s +$%s", in.RequestID, in.To, in.Amount)
}

// Equal reports whether two instructions are the same.
func (in Instruction) Equal(o Instruction) bool {
	return in.RequestID == o.RequestID && in.Kind == o.Kind && in.Account == o.Account &&
		in.From == o.From && in.To == o.To && in.Amount.Equal(o.Amount) &&
		in.Username == o.Username && in.OverdraftLimit.Equal(o.OverdraftLimit)
}
