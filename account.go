package wallet

// Account is the state the accountant keeps for one account: whether it is
// open and with what overdraft limit, its balance, and the offset of the
// last message it reflects. It holds no history of instructions and nothing
// pending: its size does not grow with the account's traffic, sender or
// recipient, World included.
type Account struct {
	// Open is set by the account's open instruction; accounts are never
	// closed. World is open without one.
	Open bool
	// OpenFrom is the offset from which the account is open: the one
	// after the open instruction that opened it. An instruction below it
	// found the account not open.
	OpenFrom       int64
	OverdraftLimit Money
	Balance        Money
	// NextOffset is the offset, in the account's partition of wallet.payment
	// after the last instruction message this state reflects
	// (Kafka's convention for committed offsets; 0 for none). A message
	// below it is a replay (after an aborted transaction, or from the
	// oldest offset once a group's committed offsets are lost): the state
	// and the outputs of its decision are already committed, so it
	// changes nothing and emits nothing. It is also the state's version:
	// no honest version is beyond the end of the partition.
	NextOffset int64
}

// Verdict is the accountant's decision for an instruction, and so what it
// emits for it.
type Verdict byte

const (
	// Debited: a debit accepted; emits the credit to the recipient.
	Debited Verdict = 'd'
	// NoFunds: a debit refused for insufficient funds; emits the outcome
	// rejected (insufficient_funds).
	NoFunds Verdict = 'f'
	// NoSender: a debit refused because the sender is not open; emits the
	// outcome rejected (account_not_found).
	NoSender Verdict = 's'
	// Credited: a credit applied; emits the outcome completed.
	Credited Verdict = 'c'
	// NoRecipient: a credit to an account that is not open; emits the
	// refund to the sender.
	NoRecipient Verdict = 'n'
	// Refunded: a refund applied; emits the outcome rejected
	// (account_not_found).
	Refunded Verdict = 'r'
)

// Valid reports whether v is one of the verdicts above.
func (v Verdict) Valid() bool {
	switch v {
	case Debited, NoFunds, NoSender, Credited, NoRecipient, Refunded:
		return true
	}
	return false
}

// Currency is the only currency the wallet keeps.
const Currency = "USD"
