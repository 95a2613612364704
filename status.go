package wallet

import "github.com/google/uuid"

// Status is where a transfer stands.
type Status string

const (
	// Pending: stored, not decided yet.
	Pending Status = "pending"
	// Completed: the sender was debited and the recipient credited.
	Completed Status = "completed"
	// Rejected: no money moved (a refund, if any, included); the reason
	// says why.
	Rejected Status = "rejected"
)

// Reasons a transfer is rejected.
const (
	// ReasonInsufficientFunds: the sender could not afford the amount
	// within its overdraft limit.
	ReasonInsufficientFunds = "insufficient_funds"
	// ReasonAccountNotFound: the sender or the recipient is not open.
	ReasonAccountNotFound = "account_not_found"
)

// Final reports whether a transfer in status s has ended: a final status
// never changes.
func (s Status) Final() bool { return s == Completed || s == Rejected }

// Outcome is the accountant's report of how a transfer ended, sent back to
// the transfer's partition of wallet.transfer_request for paymentd to
// record.
type Outcome struct {
	RequestID uuid.UUID
	Status    Status
	// Reason is set when Status is Rejected.
	Reason string
}

// Validate checks an outcome read from Kafka.
func (o Outcome) Validate() error {
	if o.RequestID == uuid.Nil {
		return Errorf(ERequestIDInvalid, "outcome request ID must be a valid UUID")
	}
	switch {
	case o.Status == Completed && o.Reason == "":
	case o.Status == Rejected && (o.Reason == ReasonInsufficientFunds || o.Reason == ReasonAccountNotFound):
	default:
		return Errorf(EInvalidJSON, "outcome %q with reason %q is not one the accountant reports", o.Status, o.Reason)
	}
	return nil
}

// TransferState is what paymentd keeps for a request ID: the transfer as
// first requested, where it stands, and where its request was in the log.
type TransferState struct {
	Transfer
	Status Status
	Reason string
	// RequestOffset is the offset of the request's message in its
	// partition of wallet.transfer_request: when that message is delivered
	// again, the debit is emitted again; any other request with the same
	// ID is a client's re-post and emits nothing.
	RequestOffset int64
	// NextOffset is the offset after the last message this state
	// reflects: of two versions, the one with the higher NextOffset is the
	// newer.
	NextOffset int64
}
