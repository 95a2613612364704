package wallet

import (
	"time"

	"github.com/google/uuid"
)

// Account is the state the accountant keeps for one account: whether it is
// open and with what overdraft limit, its balance, and the instructions it
// has applied recently, so that a redelivered duplicate is recognised and
// applied once.
type Account struct {
	// Open is set by the account's open instruction; accounts are never
	// closed.
	Open           bool
	OverdraftLimit Money
	Balance        Money
	Applied Applied
	// NextOffset is the offset, in the account's partition of the payment
	// topic, after the last instruction message this state reflects (Kafka's
	// convention for committed offsets; 0 for none). It orders the
	// versions of the state: whoever computes it from the same messages
	// gets the same value, so of two versions the one with the higher
	// NextOffset is the newer, whatever order they reached the changelog in.
	NextOffset int64
}

// Applied is an account's dedupe set: the debits and credits applied recently,
// oldest first, bounded by a DedupeBound. The whole set is rewritten with every
// payment to the account, so its entries are fixed-size values, cheap to
// copy, scan and encode even when the set is full.
type Applied []AppliedPayment

// AppliedPayment records one applied debit or credit in an account's
// dedupe set.
type AppliedPayment struct {
	RequestID uuid.UUID
	Kind      Kind
	// At is the timestamp of the instruction's message, in Unix seconds: the
	// message time, not the wall clock, so that replays decide alike.
	At int64
}

// DedupeBound bounds an account's dedupe set. A duplicate instruction is
// recognised if the original is at most MaxAge older (by message
// timestamp) and among the account's last MaxCount debits and credits.
type DedupeBound struct {
	MaxAge   time.Duration
	MaxCount int
}

// DefaultDedupeBound keeps a week of payments, at most 1,000 per account;
// the whole set is rewritten with every payment to the account, so the
// count bounds the cost of a hot account (docs/BENCHMARKS.md).
var DefaultDedupeBound = DedupeBound{MaxAge: 7 * 24 * time.Hour, MaxCount: 1000}

// Currency is the only currency the wallet keeps.
const Currency = "USD"
