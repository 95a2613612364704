package processors

import (
	"fmt"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/topology"
)

// Route decides what paymentd does with transfer t, given the transfer
// stored earlier under the same request ID (nil if none). It returns the
// transfer to store and the instructions to emit: those of the first
// transfer seen, every time, so that a redelivered or re-posted transfer
// re-emits the same debit and credit (the accountant absorbs them). A re-post that reuses the
// request ID for a different transfer also returns an error: it must not
// move money, or a changed recipient would be credited without a debit.
func Route(stored *wallet.Transfer, t wallet.Transfer) (wallet.Transfer, [2]wallet.Instruction, error) {
	if stored == nil {
		return t, t.Instructions(), nil
	}
	var err error
	if !stored.Equal(t) {
		err = fmt.Errorf("request ID %s was already used for a different transfer (%s -> %s %s)",
			t.RequestID, stored.From, stored.To, stored.Amount)
	}
	return *stored, stored.Instructions(), err
}

// NewPayments returns the paymentd processor. opts must say how to reach
// Kafka and where to keep state (or goka.WithTester).
func NewPayments(brokers []string, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	return goka.NewProcessor(brokers, topology.PaymentGraph(routeTransfer), options(goka.DefaultUpdate, opts)...)
}

func routeTransfer(ctx goka.Context, msg any) {
	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return
	}
	t := msg.(wallet.Transfer)
	if t.RequestID.String() != ctx.Key() {
		raw, _ := topology.TransferCodec.Encode(t)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: fmt.Errorf("key %q is not the request ID %s", ctx.Key(), t.RequestID)})
		return
	}
	var stored *wallet.Transfer
	if v := ctx.Value(); v != nil {
		s := v.(wallet.Transfer)
		stored = &s
	}
	keep, instructions, err := Route(stored, t)
	if err != nil {
		raw, _ := topology.TransferCodec.Encode(t)
		deadLetter(ctx, codecs.Poison{Value: raw, Err: err})
	}
	ctx.SetValue(keep)
	for _, in := range instructions {
		ctx.Emit(topology.Payments, in.Account, in)
	}
}
