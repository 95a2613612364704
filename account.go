package wallet

// Account is the state the accountant keeps for one account: whether it is
// open and with what overdraft limit, its balance, and what re-emission
// needs. It holds no history of payments: its size does not grow with the
// account's traffic.
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
	// NextOffset is the offset, in the account's partition of the payment
	// topic, after the last instruction message this state reflects
	// (Kafka's convention for committed offsets; 0 for none). A message
	// below it is a redelivery. It also orders the versions of the state:
	// whoever computes it from the same messages gets the same value, so of
	// two versions the one with the higher NextOffset is the newer,
	// whatever order they reached the changelog in.
	NextOffset int64
	// Unacked holds the decisions of the debits this state reflects whose
	// outputs Kafka may not have acknowledged yet, so that when one of them
	// is delivered again its outputs are emitted again, the same: accepted
	// or refused depends on the balance then. (Every other decision follows
	// from OpenFrom and the message itself.) A decision leaves it once
	// every message of the partition up to it is acknowledged: only the
	// debits of the last moments are ever here.
	Unacked []Decision
}

// Decision is what the accountant decided for one debit, which determines
// what it emitted.
type Decision struct {
	// Offset is the message's offset in the account's partition.
	Offset  int64
	Verdict Verdict
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
