package processors

import (
	"fmt"
	"io"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/topology"
)

// TransferDecision is what paymentd does with one transfer request.
type TransferDecision struct {
	// Store is the value to write to the table; nil leaves it as it is.
	Store *wallet.TransferState
	// Debit is the instruction to emit to the sender's partition; nil for
	// none.
	Debit *wallet.Instruction
	// Conflict is set when the request ID was first used for another
	// transfer: the request is refused (dead-lettered) and moves nothing.
	Conflict error
}

// DecideTransfer decides transfer t, delivered at offset in its partition
// of the transfer log, given the state stored for its request ID (nil if
// none). The first request is stored as pending and emits the sender's
// debit: the saga's first step. Any later message with the request ID is
// answered from the state and emits nothing: a client's re-post of the
// same transfer, or the first request replayed (the state and the debit
// were committed with it); one for another transfer is a conflict.
func DecideTransfer(stored *wallet.TransferState, t wallet.Transfer, offset int64) TransferDecision {
	switch {
	case stored == nil:
		s := wallet.TransferState{Transfer: t, Status: wallet.Pending, RequestOffset: offset, NextOffset: offset + 1}
		debit := t.Debit()
		return TransferDecision{Store: &s, Debit: &debit}
	case !stored.Transfer.Equal(t):
		return TransferDecision{Conflict: wallet.Errorf(wallet.ERequestIDConflict,
			"request ID %s was already used for a different transfer (%s -> %s %s)", t.RequestID, stored.From, stored.To, stored.Amount)}
	}
	return TransferDecision{}
}

// RecordOutcome records outcome o, delivered at offset, in the stored state
// of its transfer, and returns the state to write (nil for none). The
// first outcome makes the status final; a final status never changes, and
// a later outcome (the first one replayed) changes nothing. An outcome for
// a transfer paymentd never stored is an error.
func RecordOutcome(stored *wallet.TransferState, o wallet.Outcome, offset int64) (*wallet.TransferState, error) {
	switch {
	case stored == nil:
		return nil, fmt.Errorf("outcome %s for request ID %s, which has no transfer", o.Status, o.RequestID)
	case stored.Status == wallet.Pending:
		s := *stored
		s.Status, s.Reason, s.NextOffset = o.Status, o.Reason, offset+1
		return &s, nil
	}
	return nil, nil
}

// Transfers configures paymentd.
type Transfers struct {
	// Out, if set, receives a line for every transfer stored and every
	// outcome recorded.
	Out io.Writer
	// MaxAmount is the largest transfer the API accepts; zero means
	// wallet.DefaultMaxAmount. A request above it (written by another
	// producer than the API) is dead-lettered with the limit in force.
	MaxAmount wallet.Money
	// Bounds refuse the messages and table records that no processor or
	// API writes. Required.
	Bounds Bounds
}

// NewTransfers returns the paymentd processor. opts must say how to reach
// Kafka and where to keep state (or goka.WithTester).
func NewTransfers(brokers []string, p Transfers, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	return newProcessor(brokers, topology.TransferGraph(p.route), p.Bounds, Bounds.ReadTransfers, opts)
}

func (p Transfers) route(ctx goka.Context, msg any) {
	if poisoned, ok := poison(msg); ok {
		deadLetter(ctx, poisoned)
		return
	}
	raw := func() ([]byte, error) { return topology.TransferLogCodec.Encode(msg) }
	if err := misplaced(ctx.Key(), ctx.Partition(), p.Bounds.Partitions); err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	held, ok := stored[codecs.StoredTransfer](ctx, raw)
	if !ok {
		return
	}
	var state *wallet.TransferState
	if held != nil {
		s, err := held.For(ctx.Key())
		if err != nil {
			// paymentd stores a transfer under its request ID: this
			// value was written by someone else, and no answer can
			// come from it.
			forged.Inc()
			deadLetterInput(ctx, raw, fmt.Errorf(
				"the %s value of key %q %w, so no processor wrote it and this input was not applied", topology.TransferTable, ctx.Key(), err))
			return
		}
		state = &s
	}
	if state != nil && ctx.Offset() < state.NextOffset {
		// The state reflects this message, and its outputs were
		// committed with it: a replay changes nothing and emits
		// nothing, not even a dead letter.
		return
	}
	switch m := msg.(type) {
	case wallet.Transfer:
		p.request(ctx, state, m, raw)
	case wallet.Outcome:
		p.outcome(ctx, state, m, raw)
	}
}

func (p Transfers) request(ctx goka.Context, stored *wallet.TransferState, t wallet.Transfer, raw func() ([]byte, error)) {
	if t.RequestID.String() != ctx.Key() {
		deadLetterInput(ctx, raw, fmt.Errorf("key %q is not the request ID %s", ctx.Key(), t.RequestID))
		return
	}
	if err := wallet.CheckMaxAmount(t.Amount, p.MaxAmount); err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	d := DecideTransfer(stored, t, ctx.Offset())
	if d.Conflict != nil {
		deadLetterInput(ctx, raw, d.Conflict)
		return
	}
	if d.Store != nil {
		ctx.SetValue(*d.Store)
	}
	if d.Debit != nil {
		ctx.Emit(topology.Instructions, d.Debit.Account, *d.Debit)
	}
}

func (p Transfers) outcome(ctx goka.Context, stored *wallet.TransferState, o wallet.Outcome, raw func() ([]byte, error)) {
	if o.RequestID.String() != ctx.Key() {
		deadLetterInput(ctx, raw, fmt.Errorf("key %q is not the request ID %s", ctx.Key(), o.RequestID))
		return
	}
	s, err := RecordOutcome(stored, o, ctx.Offset())
	if err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	if s == nil {
		return
	}
	ctx.SetValue(*s)
	transfers.WithLabelValues(string(s.Status), s.Reason).Inc()
	if p.Out != nil {
		fmt.Fprintf(p.Out, "%d:%d %s %s\n", ctx.Partition(), ctx.Offset(), o.RequestID, statusText(s))
	}
}

// statusText is a transfer's status as the processor prints it.
func statusText(s *wallet.TransferState) string {
	if s.Reason != "" {
		return fmt.Sprintf("%s -> %s %s: %s (%s)", s.From, s.To, s.Amount, s.Status, s.Reason)
	}
	return fmt.Sprintf("%s -> %s %s: %s", s.From, s.To, s.Amount, s.Status)
}
