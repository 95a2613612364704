package processors

import (
	"fmt"
	"io"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// Result is what the accountant emits for one instruction, besides the
// new state.
type Result struct {
	// Verdict is the decision for the instruction; zero for an open and
	// for a replay.
	Verdict wallet.Verdict
	// Replayed is set for a message the state already reflects.
	Replayed bool
	// Next is the instruction to emit to wallet.payment: the credit of an
	// accepted debit, or the refund of a credit to an account not open.
	Next *wallet.Instruction
	// Outcome is the final outcome to report to wallet.transfer_request.
	Outcome *wallet.Outcome
}

// Apply decides instruction in, the message at offset in the account's
// partition of wallet.payment, for the account state acct, and returns the
// new state and what to emit. It reads nothing but its arguments:
// replaying a partition makes the same decisions. acct is not modified.
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
// in has been admitted before (Accountant's admit): keyed by its account,
// in its key's partition, and within the maximums in force. Those only
// refuse what no processor writes; they take no part in the decision, so
// Apply takes no settings.
//
// A message below acct.NextOffset is one the state already reflects: the
// processors commit a message's state and outputs in one transaction, so
// the state cannot reflect a message whose outputs were not committed
// with it. Delivered again (after an aborted transaction, or replayed from
// the oldest offset once the group's committed offsets are lost), it
// changes nothing and emits nothing.
func Apply(acct wallet.Account, in wallet.Instruction, offset int64) (wallet.Account, Result) {
	if offset < acct.NextOffset {
		return acct, Result{Replayed: true}
	}
	acct.NextOffset = offset + 1
	open := openAt(acct, in.Account, offset)
	var v wallet.Verdict
	switch in.Kind {
	case wallet.Open:
		if !open {
			acct.Open, acct.OpenFrom, acct.OverdraftLimit = true, offset+1, in.OverdraftLimit
		}
		return acct, Result{}
	case wallet.Debit:
		after := acct.Balance.Sub(in.Amount)
		switch {
		case !open:
			v = wallet.NoSender
		case in.Account != wallet.World && after.LessThan(acct.OverdraftLimit.Neg()):
			v = wallet.NoFunds
		case !after.Add(in.Amount).Equal(acct.Balance):
			// Beyond Money's range (the world only, after some 92
			// million deposits of the largest amount): the balance
			// saturated, which would create money.
			v = wallet.NoFunds
		default:
			v, acct.Balance = wallet.Debited, after
		}
	case wallet.Credit:
		after := acct.Balance.Add(in.Amount)
		v = wallet.NoRecipient
		// A credit beyond Money's range is refused, and refunded, like
		// one to an account not open: saturating would lose money.
		if open && after.Sub(in.Amount).Equal(acct.Balance) {
			v, acct.Balance = wallet.Credited, after
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
	// Bounds refuse the instructions and table records that no processor
	// writes. Required.
	Bounds Bounds
}

// NewAccountant returns the accountant processor. opts must say how to
// reach Kafka and where to keep state (or goka.WithTester).
func NewAccountant(brokers []string, a Accountant, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	return newProcessor(brokers, topology.AccountantGraph(a.apply), a.Bounds, Bounds.ReadAccounts, opts)
}

func (a Accountant) apply(ctx goka.Context, msg any) {
	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return
	}
	in := msg.(wallet.Instruction)
	raw := func() ([]byte, error) { return topology.InstructionCodec.Encode(in) }
	if err := a.admit(ctx.Key(), ctx.Partition(), in); err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	value, ok := stored[wallet.Account](ctx, raw)
	if !ok {
		return
	}
	var acct wallet.Account
	if value != nil {
		acct = *value
	}
	next, r := Apply(acct, in, ctx.Offset())
	if r.Replayed {
		replayed.Inc()
		return
	}
	ctx.SetValue(next)
	if r.Next != nil {
		ctx.Emit(topology.Instructions, r.Next.Account, *r.Next)
	}
	if r.Outcome != nil {
		ctx.Emit(topology.TransferRequests, r.Outcome.RequestID.String(), *r.Outcome)
	}
	applied.Inc()
	if a.Out != nil {
		fmt.Fprintf(a.Out, "%d:%d %s\n", ctx.Partition(), ctx.Offset(), describe(in, r.Verdict, next))
	}
}

// admit returns why instruction in, read under key in partition, is not
// to be decided, or nil: its key is not its account, it is above the
// maximums in force, or its key belongs to another partition. No
// processor writes such an instruction; it goes to the dead letters.
func (a Accountant) admit(key string, partition int32, in wallet.Instruction) error {
	if in.Account != key {
		return fmt.Errorf("key %q is not the account %q", key, in.Account)
	}
	if err := in.Bounded(a.MaxAmount, a.MaxOverdraft); err != nil {
		return err
	}
	return misplaced(key, partition, a.Bounds.Partitions)
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
