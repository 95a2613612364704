// Package topology is the map of the wallet: the one place where its
// streams, groups, tables and codecs are named and wired together, as in
// the diagram:
//
//	POST /api/v1/transfers --> wallet.transfer_request (key request_id)
//	  --> group paymentd (table paymentd-table: first transfer per request_id)
//	  --> wallet.payment (key account): outgoing for from, incoming for to
//	  --> group accountant (table accountant-table: balance + dedupe set)
//	  --> goka View --> GET /api/v1/accounts/{account}
//
// Inputs that cannot be decoded or are invalid go to wallet.dead_letter.
// Everything else that needs the list of topics or groups (topic creation,
// the auditor's lag, the chaos harness) derives it from Graphs, so that a
// group or output added here is created, audited and watched with no other
// edit.
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
	// TransferTable keeps the first transfer seen for each request ID, so
	// that a re-posted request ID re-emits the original payments.
	TransferTable = goka.GroupTable(PaymentGroup)
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

// Graphs returns the graph of every group of the wallet, with callbacks
// that do nothing: the map from which topics and lag are derived.
func Graphs() []*goka.GroupGraph {
	return []*goka.GroupGraph{PaymentGraph(nil), AccountantGraph(nil)}
}

// Kind says how a topic keeps its messages.
type Kind int

const (
	// Stream topics keep every message until the retention deletes it.
	Stream Kind = iota
	// Table topics are the changelogs of group tables, compacted to the
	// last value of each key.
	Table
)

// Topic is a topic of the wallet and its kind.
type Topic struct {
	Name string
	Kind Kind
}

// Topics returns every topic of the graphs once, streams before tables, in
// the order the graphs name them: each input and output stream and each
// group table's changelog.
func Topics() []Topic {
	var topics []Topic
	seen := map[string]bool{}
	add := func(name string, kind Kind) {
		if !seen[name] {
			seen[name] = true
			topics = append(topics, Topic{Name: name, Kind: kind})
		}
	}
	for _, g := range Graphs() {
		for _, e := range append(g.InputStreams(), g.OutputStreams()...) {
			add(e.Topic(), Stream)
		}
	}
	for _, g := range Graphs() {
		if t := g.GroupTable(); t != nil {
			add(t.Topic(), Table)
		}
	}
	return topics
}

// Input is a stream that a group consumes: the pairs whose lag tells how
// far behind the processors are.
type Input struct {
	Group goka.Group
	Topic goka.Stream
}

// Inputs returns every (group, input stream) pair of the graphs.
func Inputs() []Input {
	var inputs []Input
	for _, g := range Graphs() {
		for _, e := range g.InputStreams() {
			inputs = append(inputs, Input{Group: g.Group(), Topic: goka.Stream(e.Topic())})
		}
	}
	return inputs
}
