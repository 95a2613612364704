package processors

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/topology"
)

// Apply applies payment p, carried by the message at offset in the
// account's partition with timestamp at, to the account state acct. It
// returns the new state and whether p was new; the new state reflects the
// message (its NextOffset is past it) even when p was not.
//
// A payment is applied once. A message the state already reflects (offset
// below acct.NextOffset: a redelivery after a crash or a rebalance)
// changes nothing. A payment the state has seen in another message changes
// only NextOffset: one the partition carried within the accountant's
// window (recent: a copy paymentd emitted when its input was redelivered),
// or one in the account's dedupe set (same request ID and direction within
// the retention: a transfer a client posted again). Keying by direction as
// well matters: Alice's debit and Bob's credit share a request ID and may
// land in the same partition. acct is not modified.
func Apply(acct wallet.Account, p wallet.Payment, offset int64, at time.Time, r wallet.Retention, recent bool) (wallet.Account, bool, error) {
	id, err := uuid.Parse(p.RequestID)
	if err != nil {
		return acct, false, fmt.Errorf("payment request ID %q: %w", p.RequestID, err)
	}
	if offset < acct.NextOffset {
		return acct, false, nil
	}
	seen := recent
	for _, a := range acct.Applied {
		seen = seen || a.RequestID == id && a.Direction == p.Direction && !expired(a, at, r)
	}
	if seen {
		acct.NextOffset = offset + 1
		return acct, false, nil
	}
	kept := make(wallet.Applied, 0, len(acct.Applied)+1)
	for _, a := range acct.Applied {
		if !expired(a, at, r) {
			kept = append(kept, a)
		}
	}
	kept = append(kept, wallet.AppliedPayment{RequestID: id, Direction: p.Direction, At: at.Unix()})
	if r.MaxCount > 0 && len(kept) > r.MaxCount {
		kept = kept[len(kept)-r.MaxCount:]
	}
	return wallet.Account{Balance: acct.Balance.Add(p.Signed()), Applied: kept, NextOffset: offset + 1}, true, nil
}

// expired reports whether entry a is older than the retention's age bound
// at time at.
func expired(a wallet.AppliedPayment, at time.Time, r wallet.Retention) bool {
	return r.MaxAge > 0 && a.At < at.Add(-r.MaxAge).Unix()
}

// Accountant configures the accountant group.
type Accountant struct {
	// Retention bounds each account's dedupe set. Zero means
	// wallet.DefaultRetention.
	Retention wallet.Retention
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
	if a.Retention == (wallet.Retention{}) {
		a.Retention = wallet.DefaultRetention
	}
	if a.Window == 0 {
		a.Window = DefaultWindow
	}
	acc := &accountant{Accountant: a, windows: map[int32]*recent{}}
	return goka.NewProcessor(brokers, topology.AccountantGraph(acc.apply), options(StoreNewest, opts)...)
}

// accountant is a running accountant: its configuration and the window of
// each partition it has worked on.
type accountant struct {
	Accountant
	mu      sync.Mutex
	windows map[int32]*recent
}

func (a *accountant) apply(ctx goka.Context, msg any) {
	window, err := a.window(ctx.Partition(), ctx.Offset())
	if err != nil {
		ctx.Fail(err)
	}
	var key paymentKey
	var isPayment bool
	defer func() {
		if window != nil {
			window.add(ctx.Offset(), key, isPayment)
		}
	}()

	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return
	}
	p := msg.(wallet.Payment)
	if p.Account != ctx.Key() {
		raw, _ := topology.PaymentCodec.Encode(p)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: fmt.Errorf("key %q is not the account %q", ctx.Key(), p.Account)})
		return
	}
	id, err := uuid.Parse(p.RequestID)
	if err != nil {
		raw, _ := topology.PaymentCodec.Encode(p)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: fmt.Errorf("payment request ID %q: %w", p.RequestID, err)})
		return
	}
	key, isPayment = keyOf(p, id), true
	var acct wallet.Account
	if v := ctx.Value(); v != nil {
		acct = v.(wallet.Account)
	}
	at := ctx.Timestamp()
	if at.IsZero() { // a message without a valid timestamp
		at = time.Now()
	}
	next, isNew, err := Apply(acct, p, ctx.Offset(), at, a.Retention, window != nil && window.has(key))
	if err != nil {
		raw, _ := topology.PaymentCodec.Encode(p)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: err})
		isPayment = false
		return
	}
	// A duplicate re-emits the state: if the first delivery's table write
	// never reached the changelog, this repairs it before the input offset
	// is committed.
	ctx.SetValue(next)
	if !isNew {
		duplicates.Add(1)
		return
	}
	applied.Add(1)
	if a.Out != nil {
		fmt.Fprintf(a.Out, "%d:%d %s\n%s balance: %s %s\n",
			ctx.Partition(), ctx.Offset(), p, p.Account, next.Balance, wallet.Currency)
	}
}

// window returns the partition's window, complete for the message at
// offset: rebuilt from the messages before it unless this accountant has
// just processed the one before. Nil when the window is off.
func (a *accountant) window(partition int32, offset int64) (*recent, error) {
	if a.Window < 0 {
		return nil, nil
	}
	a.mu.Lock()
	r := a.windows[partition]
	if r == nil {
		r = newRecent(a.Window)
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
	v, err := topology.PaymentCodec.Decode(value)
	if err != nil {
		return paymentKey{}, false
	}
	p, ok := v.(wallet.Payment)
	if !ok || p.Account != key {
		return paymentKey{}, false
	}
	id, err := uuid.Parse(p.RequestID)
	if err != nil {
		return paymentKey{}, false
	}
	return keyOf(p, id), true
}
