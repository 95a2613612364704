package wallet

import "time"

// Account is the state the accountant keeps for one account: its balance
// and the payments it has applied recently, so that a redelivered
// duplicate is recognised and applied once.
type Account struct {
	Balance Money `json:"balance"`
	// Applied lists the recently applied payments, oldest first. It is
	// bounded by Retention.
	Applied []Applied `json:"applied,omitempty"`
}

// Applied records one applied payment in an account's dedupe set.
type Applied struct {
	RequestID string    `json:"r"`
	Direction Direction `json:"d"`
	// At is the timestamp of the payment message, in Unix seconds: the
	// message time, not the wall clock, so that replays decide alike.
	At int64 `json:"t"`
}

// Retention bounds an account's dedupe set. A duplicate payment is
// recognised if the original is at most MaxAge older (by message
// timestamp) and among the account's last MaxCount payments.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int
}

// DefaultRetention keeps a week of payments, at most 10,000 per account.
var DefaultRetention = Retention{MaxAge: 7 * 24 * time.Hour, MaxCount: 10000}

// Currency is the only currency the wallet keeps.
const Currency = "USD"
