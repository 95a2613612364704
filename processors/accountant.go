package processors

import (
	"fmt"
	"io"
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
// A payment is applied once in two ways. A message the state already
// reflects (offset below acct.NextOffset: a redelivery after a crash or a
// rebalance) changes nothing. A payment the state has seen under another
// offset (same request ID and direction within the retention window: a
// re-posted transfer) changes only NextOffset. Keying the dedupe set by
// direction as well matters: Alice's debit and Bob's credit share a request
// ID and may land in the same partition. acct is not modified.
func Apply(acct wallet.Account, p wallet.Payment, offset int64, at time.Time, r wallet.Retention) (wallet.Account, bool, error) {
	id, err := uuid.Parse(p.RequestID)
	if err != nil {
		return acct, false, fmt.Errorf("payment request ID %q: %w", p.RequestID, err)
	}
	if offset < acct.NextOffset {
		return acct, false, nil
	}
	for _, a := range acct.Applied {
		if a.RequestID == id && a.Direction == p.Direction && !expired(a, at, r) {
			acct.NextOffset = offset + 1
			return acct, false, nil
		}
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
	return goka.NewProcessor(brokers, topology.AccountantGraph(a.apply), options(StoreNewest, opts)...)
}

func (a Accountant) apply(ctx goka.Context, msg any) {
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
	var acct wallet.Account
	if v := ctx.Value(); v != nil {
		acct = v.(wallet.Account)
	}
	at := ctx.Timestamp()
	if at.IsZero() { // a message without a valid timestamp
		at = time.Now()
	}
	next, isNew, err := Apply(acct, p, ctx.Offset(), at, a.Retention)
	if err != nil {
		raw, _ := topology.PaymentCodec.Encode(p)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: err})
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
