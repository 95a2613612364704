package processors

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/topology"
)

// Delivery is one instruction message as the accountant is given it.
type Delivery struct {
	Instruction wallet.Instruction
	// Offset is the message's offset in the account's partition.
	Offset int64
	// Copy is true when the partition's window holds the same instruction
	// (request ID and kind) in an earlier message: a copy that paymentd or
	// the accountant emitted when their input was delivered again.
	Copy bool
	// Acked is the offset in the partition below which every message's
	// outputs are acknowledged by Kafka: their decisions need no
	// re-emission and leave the state. Zero keeps every decision.
	Acked int64
}

// Result is what the accountant emits for one delivery, besides the new
// state.
type Result struct {
	// Verdict is the decision for the instruction; for a redelivery, the
	// decision taken at its first delivery if it may still need
	// re-emitting. Zero when there is none: an open, a copy, or a
	// redelivery whose outputs are acknowledged.
	Verdict wallet.Verdict
	// Redelivered is set for a message the state already reflected, Copy
	// for a copy of an instruction already decided.
	Redelivered, Copy bool
	// Next is the instruction to emit to wallet.payment: the credit of an
	// accepted debit, or the refund of a credit to an account not open.
	Next *wallet.Instruction
	// Outcome is the final outcome to report to wallet.transfer_request.
	Outcome *wallet.Outcome
}

// Apply decides the instruction delivered in d for the account state acct
// and returns the new state and what to emit. It reads nothing but its
// arguments: replaying a partition makes the same decisions. acct is not
// modified.
//
//   - An open opens the account with its overdraft limit, once.
//   - A debit is accepted only if the account is open (World always is) and
//     the balance after it stays at or above minus the overdraft limit
//     (World has no limit); then the credit to the recipient follows.
//     Otherwise the transfer is rejected: insufficient_funds, or
//     account_not_found.
//   - A credit to an open account is applied and the transfer completed; to
//     an account that is not open, it becomes a refund to the sender.
//   - A refund is applied and the transfer rejected (account_not_found).
//
// A message the state already reflects (offset below acct.NextOffset: a
// redelivery after a crash or a rebalance) changes nothing but emits again
// what its first delivery emitted, which may never have reached Kafka: a
// debit's decision is kept for that until acknowledged; the others follow
// from whether the account was open at the message's offset. A copy of an
// instruction already decided (d.Copy) changes nothing and emits nothing:
// its original's outputs are in Kafka or will be re-emitted with the
// original's redelivery.
func Apply(acct wallet.Account, d Delivery) (wallet.Account, Result) {
	in := d.Instruction
	acct.Unacked = unacked(acct.Unacked, d.Acked)
	if d.Offset < acct.NextOffset {
		r := Result{Redelivered: true}
		if d.Copy {
			return acct, r
		}
		v, ok := redecided(acct, d)
		if !ok {
			return acct, r
		}
		r = effects(in, v)
		r.Redelivered = true
		return acct, r
	}
	acct.NextOffset = d.Offset + 1
	if d.Copy {
		return acct, Result{Copy: true}
	}
	open := openAt(acct, in.Account, d.Offset)
	var v wallet.Verdict
	switch in.Kind {
	case wallet.Open:
		if !open {
			acct.Open, acct.OpenFrom, acct.OverdraftLimit = true, d.Offset+1, in.OverdraftLimit
		}
		return acct, Result{}
	case wallet.Debit:
		after := acct.Balance.Sub(in.Amount)
		switch {
		case !open:
			v = wallet.NoSender
		case in.Account != wallet.World && after.LessThan(acct.OverdraftLimit.Neg()):
			v = wallet.NoFunds
		default:
			v, acct.Balance = wallet.Debited, after
		}
		acct.Unacked = append(acct.Unacked, wallet.Decision{Offset: d.Offset, Verdict: v})
	case wallet.Credit:
		v = wallet.NoRecipient
		if open {
			v, acct.Balance = wallet.Credited, acct.Balance.Add(in.Amount)
		}
	case wallet.Refund:
		v, acct.Balance = wallet.Refunded, acct.Balance.Add(in.Amount)
	}
	return acct, effects(in, v)
}

// openAt reports whether the account was open at offset: opened below it,
// or World.
func openAt(acct wallet.Account, key string, offset int64) bool {
	return key == wallet.World || acct.Open && acct.OpenFrom <= offset
}

// redecided returns the decision taken when the message delivered again
// in d was first delivered: kept for a debit whose outputs may not be
// acknowledged (ok is false once they are), and the same as then for
// every other instruction, since an account's being open only ever
// changes at its open.
func redecided(acct wallet.Account, d Delivery) (wallet.Verdict, bool) {
	open := openAt(acct, d.Instruction.Account, d.Offset)
	switch d.Instruction.Kind {
	case wallet.Debit:
		if !open {
			return wallet.NoSender, true
		}
		for _, dec := range acct.Unacked {
			if dec.Offset == d.Offset {
				return dec.Verdict, true
			}
		}
	case wallet.Credit:
		if open {
			return wallet.Credited, true
		}
		return wallet.NoRecipient, true
	case wallet.Refund:
		return wallet.Refunded, true
	}
	return 0, false
}

// unacked returns the decisions at or above offset acked, in a new slice.
func unacked(decisions []wallet.Decision, acked int64) []wallet.Decision {
	var kept []wallet.Decision
	for _, dec := range decisions {
		if dec.Offset >= acked {
			kept = append(kept, dec)
		}
	}
	return kept
}

// effects returns what the accountant emits for instruction in decided as
// v.
func effects(in wallet.Instruction, v wallet.Verdict) Result {
	r := Result{Verdict: v}
	outcome := func(status wallet.Status, reason string) *wallet.Outcome {
		return &wallet.Outcome{RequestID: in.RequestID, Status: status, Reason: reason}
	}
	switch v {
	case wallet.Debited, wallet.NoRecipient:
		next := in.Next()
		r.Next = &next
	case wallet.NoFunds:
		r.Outcome = outcome(wallet.Rejected, wallet.ReasonInsufficientFunds)
	case wallet.NoSender, wallet.Refunded:
		r.Outcome = outcome(wallet.Rejected, wallet.ReasonAccountNotFound)
	case wallet.Credited:
		r.Outcome = outcome(wallet.Completed, "")
	}
	return r
}

// Accountant configures the accountant group.
type Accountant struct {
	// Window is the number of messages of a payment partition before each
	// one within which a copy of an instruction is recognised. Zero means
	// DefaultWindow; a negative value turns the window off. Every instance
	// must use the same value.
	Window int64
	// Acked returns the offset of a partition of the payment topic below
	// which every message's outputs are acknowledged (kafka.Acked). Nil
	// keeps every decision in the state, for tests.
	Acked func(partition int32) int64
	// Scan calls fn for the messages at offsets [from, to) of a partition
	// of the payment topic that are still there, in order. The accountant
	// uses it to rebuild its window when it starts on a partition. Nil
	// starts with an empty window, for tests.
	Scan func(partition int32, from, to int64, fn func(offset int64, key string, value []byte)) error
	// Out, if set, receives the primer's lines for every decision:
	// "1:0 <request_id> Alice -$0.50" and "Alice balance: -0.50 USD", or
	// the reason a transfer was refused.
	Out io.Writer
	// MaxAmount and MaxOverdraft are the largest transfer and overdraft
	// limit the API and the signup group accept; zero means
	// wallet.DefaultMaxAmount and wallet.DefaultMaxOverdraft. An
	// instruction above them (written by someone else than a processor)
	// is dead-lettered with the limit in force, so they must be at least
	// the largest the API has accepted for any transfer not yet final.
	MaxAmount, MaxOverdraft wallet.Money
	// Partitions is the number of partitions of wallet.payment; an
	// instruction or table record whose key belongs to another partition
	// is refused. Zero checks nothing, for the tester's one partition.
	Partitions int
	// End returns the end offset of a partition of wallet.payment, read
	// when the accountant recovers its table: a table record whose
	// version is beyond it is refused. Nil checks nothing, for tests.
	End func(partition int32) (int64, error)
}

// NewAccountant returns the accountant processor. opts must say how to
// reach Kafka and where to keep state (or goka.WithTester).
func NewAccountant(brokers []string, a Accountant, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	if a.Window == 0 {
		a.Window = DefaultWindow
	}
	acc := &accountant{Accountant: a, windows: map[int32]*paymentWindow{}}
	newest := StoreNewest(codecs.AccountNextOffset, a.Partitions, a.End)
	return goka.NewProcessor(brokers, topology.AccountantGraph(acc.apply), options(newest, opts)...)
}

// accountant is a running accountant: its configuration and the window of
// each partition it has worked on.
type accountant struct {
	Accountant
	mu      sync.Mutex
	windows map[int32]*paymentWindow
}

func (a *accountant) apply(ctx goka.Context, msg any) {
	window, err := a.window(ctx.Partition(), ctx.Offset())
	if err != nil {
		ctx.Fail(err)
		return
	}
	key, isPayment := a.process(ctx, msg, window)
	if window != nil {
		window.add(ctx.Offset(), key, isPayment)
	}
}

// process handles one message of the payment topic and returns the key of
// the instruction it carried, if it carried one, for the window.
func (a *accountant) process(ctx goka.Context, msg any, window *paymentWindow) (paymentKey, bool) {
	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return paymentKey{}, false
	}
	in := msg.(wallet.Instruction)
	err := in.Bounded(a.MaxAmount, a.MaxOverdraft)
	if in.Account != ctx.Key() {
		err = fmt.Errorf("key %q is not the account %q", ctx.Key(), in.Account)
	}
	if err == nil {
		err = misplaced(ctx.Key(), ctx.Partition(), a.Partitions)
	}
	if err != nil {
		raw, _ := topology.InstructionCodec.Encode(in)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: err})
		return paymentKey{}, false
	}
	key := keyOf(in)
	value, ok := stored[wallet.Account](ctx, func() ([]byte, error) { return topology.InstructionCodec.Encode(in) })
	if !ok {
		return paymentKey{}, false
	}
	var acct wallet.Account
	if value != nil {
		acct = *value
	}
	d := Delivery{Instruction: in, Offset: ctx.Offset(), Copy: window != nil && window.has(key)}
	if a.Acked != nil {
		d.Acked = a.Acked(ctx.Partition())
	}
	next, r := Apply(acct, d)
	// A redelivery or a copy writes the state too: if an earlier table
	// write never reached the changelog, this repairs it before the input
	// offset is committed.
	ctx.SetValue(next)
	if r.Next != nil {
		ctx.Emit(topology.Payments, r.Next.Account, *r.Next)
	}
	if r.Outcome != nil {
		ctx.Emit(topology.TransferRequests, r.Outcome.RequestID.String(), *r.Outcome)
	}
	switch {
	case r.Redelivered && r.Verdict != 0:
		reemitted.Inc()
	case r.Redelivered:
		redelivered.Inc()
	case r.Copy:
		copies.Inc()
	default:
		applied.Inc()
		if a.Out != nil {
			fmt.Fprintf(a.Out, "%d:%d %s\n", ctx.Partition(), ctx.Offset(), describe(in, r.Verdict, next))
		}
	}
	return key, true
}

// describe says what a decision did, as the processor prints it.
func describe(in wallet.Instruction, v wallet.Verdict, acct wallet.Account) string {
	balance := fmt.Sprintf("%s balance: %s %s", in.Name(), acct.Balance, wallet.Currency)
	switch v {
	case wallet.NoFunds:
		return fmt.Sprintf("%s refused: %s", in, wallet.ReasonInsufficientFunds)
	case wallet.NoSender:
		return fmt.Sprintf("%s refused: %s is not an account", in, in.From)
	case wallet.NoRecipient:
		return fmt.Sprintf("%s refused: %s is not an account; refunding %s", in, in.To, in.From)
	case 0: // an open
		return in.String()
	}
	return in.String() + "\n" + balance
}

// window returns the partition's window, complete for the message at
// offset: rebuilt from the messages before it unless this accountant has
// just processed the one before. Nil when the window is off.
func (a *accountant) window(partition int32, offset int64) (*paymentWindow, error) {
	if a.Window < 0 {
		return nil, nil
	}
	a.mu.Lock()
	r := a.windows[partition]
	if r == nil {
		r = newPaymentWindow(a.Window)
		a.windows[partition] = r
	}
	a.mu.Unlock()
	if r.continues(offset) {
		return r, nil
	}
	from := max(0, offset-a.Window)
	r.reset(from)
	if a.Scan != nil && from < offset {
		start := time.Now()
		err := a.Scan(partition, from, offset, func(o int64, key string, value []byte) {
			k, ok := windowKey(key, value)
			r.add(o, k, ok)
		})
		if err != nil {
			r.reset(-1)
			return nil, fmt.Errorf("rebuild the window of %s/%d before offset %d: %w", topology.Payments, partition, offset, err)
		}
		slog.Info("rebuilt the payment window", "partition", partition, "from", from, "to", offset,
			"payments", r.size(), "took", time.Since(start).Round(time.Millisecond))
	}
	r.next = offset
	return r, nil
}

// windowKey decodes a message read back into the window: only what apply
// would have processed as a payment counts.
func windowKey(key string, value []byte) (paymentKey, bool) {
	v, err := topology.InstructionCodec.Decode(value)
	if err != nil {
		return paymentKey{}, false
	}
	in, ok := v.(wallet.Instruction)
	if !ok || in.Account != key {
		return paymentKey{}, false
	}
	return keyOf(in), true
}
