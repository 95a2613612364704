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
	// At is the message's timestamp in Unix seconds: the message time, not
	// the wall clock, so that a replay decides alike.
	At int64
	// Copy is true when the partition's window holds the same instruction
	// in an earlier message: a copy paymentd emitted when its input was
	// redelivered.
	Copy bool
}

// Apply applies the instruction delivered in d to the account state acct,
// keeping a dedupe set within bound. It returns the new state and whether
// the instruction was new; the new state reflects the message (its
// NextOffset is past it) even when the instruction was not.
//
// An open opens the account with its overdraft limit, once: the account
// stays as it is for any later open. A debit or credit is applied once. A
// message the state already reflects (offset below acct.NextOffset: a
// redelivery after a crash or a rebalance) changes nothing. An instruction
// the state has seen in another message changes only NextOffset: one the
// partition carried within the accountant's window (d.Copy), or one in the
// account's dedupe set (same request ID and kind within the bound: a
// transfer a client posted again). Keying by kind as well matters: Alice's
// debit and Bob's credit share a request ID and may land in the same
// partition. acct is not modified.
func Apply(acct wallet.Account, d Delivery, bound wallet.DedupeBound) (wallet.Account, bool) {
	in := d.Instruction
	if d.Offset < acct.NextOffset {
		return acct, false
	}
	if in.Kind == wallet.Open {
		isNew := !acct.Open
		if isNew {
			acct.Open, acct.OverdraftLimit = true, in.OverdraftLimit
		}
		acct.NextOffset = d.Offset + 1
		return acct, isNew
	}
	seen := d.Copy
	for _, a := range acct.Applied {
		seen = seen || a.RequestID == in.RequestID && a.Kind == in.Kind && !expired(a, d.At, bound)
	}
	if seen {
		acct.NextOffset = d.Offset + 1
		return acct, false
	}
	kept := make(wallet.Applied, 0, len(acct.Applied)+1)
	for _, a := range acct.Applied {
		if !expired(a, d.At, bound) {
			kept = append(kept, a)
		}
	}
	kept = append(kept, wallet.AppliedPayment{RequestID: in.RequestID, Kind: in.Kind, At: d.At})
	if bound.MaxCount > 0 && len(kept) > bound.MaxCount {
		kept = kept[len(kept)-bound.MaxCount:]
	}
	acct.Balance = acct.Balance.Add(in.Signed())
	acct.Applied = kept
	acct.NextOffset = d.Offset + 1
	return acct, true
}

// expired reports whether entry a is older than the bound's age at time at
// (Unix seconds).
func expired(a wallet.AppliedPayment, at int64, bound wallet.DedupeBound) bool {
	return bound.MaxAge > 0 && a.At < at-int64(bound.MaxAge/time.Second)
}

// Accountant configures the accountant group.
type Accountant struct {
	// Dedupe bounds each account's dedupe set. Zero means
	// wallet.DefaultDedupeBound.
	Dedupe wallet.DedupeBound
	// Window is the number of messages of a payment partition before each
	// one within which a copy of the same payment is recognised, whatever
	// the account's dedupe set has evicted. Zero means DefaultWindow; a
	// negative value turns the window off. Every instance must use the
	// same value.
	Window int64
	// Scan calls fn for the messages at offsets [from, to) of a partition
	// of the payment topic that are still there, in order. The accountant
	// uses it to rebuild its window when it starts on a partition. Nil
	// starts with an empty window, for tests.
	Scan func(partition int32, from, to int64, fn func(offset int64, key string, value []byte)) error
	// Out, if set, receives the primer's lines for every applied payment:
	// "1:0 <request_id> Alice -$0.50" and "Alice balance: -0.50 USD".
	Out io.Writer
}

// NewAccountant returns the accountant processor. opts must say how to
// reach Kafka and where to keep state (or goka.WithTester).
func NewAccountant(brokers []string, a Accountant, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	if a.Dedupe == (wallet.DedupeBound{}) {
		a.Dedupe = wallet.DefaultDedupeBound
	}
	if a.Window == 0 {
		a.Window = DefaultWindow
	}
	acc := &accountant{Accountant: a, windows: map[int32]*paymentWindow{}}
	return goka.NewProcessor(brokers, topology.AccountantGraph(acc.apply), options(StoreNewest, opts)...)
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
// the payment it carried, if it carried one, for the window.
func (a *accountant) process(ctx goka.Context, msg any, window *paymentWindow) (paymentKey, bool) {
	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return paymentKey{}, false
	}
	in := msg.(wallet.Instruction)
	if in.Account != ctx.Key() {
		raw, _ := topology.InstructionCodec.Encode(in)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: fmt.Errorf("key %q is not the account %q", ctx.Key(), in.Account)})
		return paymentKey{}, false
	}
	key := keyOf(in)
	var acct wallet.Account
	if v := ctx.Value(); v != nil {
		acct = v.(wallet.Account)
	}
	next, isNew := Apply(acct, Delivery{
		Instruction: in,
		Offset:  ctx.Offset(),
		At:      unixSeconds(ctx.Timestamp()),
		Copy:    window != nil && window.has(key),
	}, a.Dedupe)
	// A duplicate re-emits the state: if the first delivery's table write
	// never reached the changelog, this repairs it before the input offset
	// is committed.
	ctx.SetValue(next)
	if !isNew {
		duplicates.Add(1)
		return key, true
	}
	applied.Add(1)
	if a.Out != nil {
		fmt.Fprintf(a.Out, "%d:%d %s\n%s balance: %s %s\n",
			ctx.Partition(), ctx.Offset(), in, in.Name(), next.Balance, wallet.Currency)
	}
	return key, true
}

// unixSeconds returns a message timestamp in Unix seconds; a message
// without one (a zero time) counts as the Unix epoch, the same on every
// replay.
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
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
