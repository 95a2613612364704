// Package topology is the one place where the wallet's streams, groups,
// tables and codecs are named and wired together, as in the diagram:
//
//	POST /api/v1/transfers --> wallet.transfer_request (key request_id)
//	  --> group paymentd (table paymentd-table: first transfer per request_id)
//	  --> wallet.payment (key account): outgoing for from, incoming for to
//	  --> group accountant (table accountant-table: balance + dedupe set)
//	  --> goka View --> GET /api/v1/accounts/{account}
//
// Inputs that cannot be decoded or are invalid go to wallet.dead_letter.
// It also holds the Kafka client settings and topic creation, so that every
// command talks to Kafka the same way.
package topology

import (
	"github.com/lovoo/goka"

	"github.com/wallet/wallet/codecs"
)

const (
	// TransferRequests holds every accepted transfer, keyed by request ID.
	TransferRequests goka.Stream = "wallet.transfer_request"
	// Payments holds both sides of every transfer, keyed by account.
	Payments goka.Stream = "wallet.payment"
	// DeadLetters holds the inputs that could not be processed, keyed and
	// valued as they arrived, with the error and origin in headers.
	DeadLetters goka.Stream = "wallet.dead_letter"

	// PaymentGroup turns transfers into payments.
	PaymentGroup goka.Group = "paymentd"
	// AccountantGroup applies payments to balances.
	AccountantGroup goka.Group = "accountant"
)

var (
	// PaymentTable keeps the first transfer seen for each request ID, so that
	// a re-posted request ID re-emits the original payments.
	PaymentTable = goka.GroupTable(PaymentGroup)
	// AccountTable keeps each account's balance and dedupe set.
	AccountTable = goka.GroupTable(AccountantGroup)
)

// Headers of a dead-letter message.
const (
	HeaderError     = "wallet-error"
	HeaderTopic     = "wallet-origin-topic"
	HeaderPartition = "wallet-origin-partition"
	HeaderOffset    = "wallet-origin-offset"
)

// Codecs of the topics. The streams' codecs are Lenient, so that an input
// that fails to decode reaches the callback as a Poison instead of stopping
// the processor; writers use the same codec as readers.
var (
	TransferRequestCodec = codecs.Lenient{Codec: codecs.Transfer{}}
	PaymentCodec         = codecs.Lenient{Codec: codecs.Payment{}}
	TransferCodec        = codecs.Transfer{}
	AccountCodec         = codecs.Account{}
	RawCodec             = codecs.Raw{}
)

// PaymentGraph is the paymentd group: transfers in, payments out.
func PaymentGraph(cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(PaymentGroup,
		goka.Input(TransferRequests, TransferRequestCodec, cb),
		goka.Persist(TransferCodec),
		goka.Output(Payments, PaymentCodec),
		goka.Output(DeadLetters, RawCodec),
	)
}

// AccountantGraph is the accountant group: payments in, balances kept.
func AccountantGraph(cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(AccountantGroup,
		goka.Input(Payments, PaymentCodec, cb),
		goka.Persist(AccountCodec),
		goka.Output(DeadLetters, RawCodec),
	)
}
