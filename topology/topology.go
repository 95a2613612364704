// Package topology is the map of the wallet: the one place where its
// streams, groups, tables and codecs are named and wired together, as in
// the diagram:
//
//	POST /api/v1/accounts --> wallet.signup_request (key account)
//	  --> group signup (table signup-table: the claim that won each account)
//	  --> "open" to wallet.payment (key account)
//	POST /api/v1/transfers, /deposits, /withdrawals --> wallet.transfer_request (key request_id)
//	  --> group paymentd (table paymentd-table: the transfer, its status)
//	  --> debit to wallet.payment (key: the sender's account)
//	  --> group accountant (table accountant-table: open, limit, balance)
//	        debit accepted --> credit to the recipient's partition --> completed
//	        debit refused --> rejected (insufficient_funds, account_not_found)
//	        credit to an account not open --> refund to the sender --> rejected
//	  --> outcomes back to wallet.transfer_request (key request_id), recorded by paymentd
//	views of the three tables --> GET /api/v1/accounts/{name}, GET /api/v1/transfers/{id}
//
// Accounts are keyed by wallet.AccountKey, the username's canonical form.
//
// Inputs that cannot be decoded or are invalid go to wallet.dead_letter.
// Everything else that needs the list of topics or groups (topic creation,
// the processors' ACLs, the groups a processor runs, the auditor's lag, the chaos
// harness) derives it from Graphs, so that a group or output added here is
// created, run, audited and watched with no other edit than its processor
// (processors.Groups).
package topology

import (
	"github.com/lovoo/goka"

	"github.com/wallet/wallet/codecs"
)

const (
	// SignupRequests holds every claim of a username, keyed by its account
	// key, so that every claim of one name is in one partition.
	SignupRequests goka.Stream = "wallet.signup_request"
	// TransferRequests holds every transfer request and the outcome
	// reported back for it, keyed by request ID: the log of each transfer.
	TransferRequests goka.Stream = "wallet.transfer_request"
	// Instructions holds every instruction for an account, keyed by account:
	// open, debit, credit, refund. The log of each account.
	Instructions goka.Stream = "wallet.payment"
	// DeadLetters holds the inputs that could not be processed, keyed and
	// valued as they arrived, with the error and origin in headers.
	DeadLetters goka.Stream = "wallet.dead_letter"

	// SignupGroup decides which claim of each username wins.
	SignupGroup goka.Group = "signup"
	// TransferGroup stores each transfer, starts it with the debit and
	// records its outcome.
	TransferGroup goka.Group = "paymentd"
	// AccountantGroup decides every instruction for an account.
	AccountantGroup goka.Group = "accountant"
)

var (
	// SignupTable keeps the claim that won each account key.
	SignupTable = goka.GroupTable(SignupGroup)
	// TransferTable keeps, per request ID, the first transfer requested
	// under it and its status.
	TransferTable = goka.GroupTable(TransferGroup)
	// AccountTable keeps each account's state: open, overdraft limit,
	// balance, and the offset after the last instruction it reflects.
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
// the processor; writers use the same codec as readers. The tables' codecs
// are strict, for the views and the auditor, which report a value that
// does not decode as an error; the groups persist through Lenient (see the
// graphs), so that such a value reaches the callback as a Poison too.
var (
	ClaimCodec         = codecs.Lenient{Codec: codecs.Claim{}}
	TransferLogCodec   = codecs.Lenient{Codec: codecs.TransferLog{}}
	InstructionCodec   = codecs.Lenient{Codec: codecs.Instruction{}}
	SignupCodec        = codecs.Signup{}
	TransferStateCodec = codecs.TransferState{}
	AccountCodec       = codecs.Account{}
	RawCodec           = codecs.Raw{}
)

// SignupGraph is the signup group: claims in, the winners' opens out.
func SignupGraph(cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(SignupGroup,
		goka.Input(SignupRequests, ClaimCodec, cb),
		goka.Persist(codecs.Lenient{Codec: SignupCodec}),
		goka.Output(Instructions, InstructionCodec),
		goka.Output(DeadLetters, RawCodec),
	)
}

// TransferGraph is the paymentd group: transfers and their outcomes in,
// debits out.
func TransferGraph(cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(TransferGroup,
		goka.Input(TransferRequests, TransferLogCodec, cb),
		goka.Persist(codecs.Lenient{Codec: TransferStateCodec}),
		goka.Output(Instructions, InstructionCodec),
		goka.Output(DeadLetters, RawCodec),
	)
}

// AccountantGraph is the accountant group: instructions in, accounts
// kept; credits and refunds out to the accounts' partitions, outcomes out
// to the transfers'.
func AccountantGraph(cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(AccountantGroup,
		goka.Input(Instructions, InstructionCodec, cb),
		goka.Persist(codecs.Lenient{Codec: AccountCodec}),
		goka.Output(Instructions, InstructionCodec),
		goka.Output(TransferRequests, TransferLogCodec),
		goka.Output(DeadLetters, RawCodec),
	)
}

// Graphs returns the graph of every group of the wallet, with callbacks
// that do nothing: the map from which topics and lag are derived.
func Graphs() []*goka.GroupGraph {
	return []*goka.GroupGraph{SignupGraph(nil), TransferGraph(nil), AccountantGraph(nil)}
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
