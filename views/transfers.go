package views

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// Transfers serves each transfer as first requested and its status from a
// local copy of paymentd's table.
type Transfers struct {
	*table
}

// NewTransfers returns a view of paymentd's table. opts must say how to
// reach Kafka and where to keep the local copy (or goka.WithViewTester).
// The view keeps the newest version of each transfer, as paymentd does
// when it recovers (processors.NewestTransfer).
func NewTransfers(brokers []string, opts ...goka.ViewOption) (*Transfers, error) {
	opts = append([]goka.ViewOption{goka.WithViewCallback(processors.NewestTransfer)}, opts...)
	t, err := newTable(brokers, topology.TransferTable, topology.TransferStateCodec, opts)
	if err != nil {
		return nil, err
	}
	return &Transfers{table: t}, nil
}

// Transfer returns the transfer stored under a request ID and its status;
// ok is false while paymentd has stored none.
func (t *Transfers) Transfer(id uuid.UUID) (s wallet.TransferState, ok bool, err error) {
	v, err := t.get(id.String())
	if err != nil {
		return wallet.TransferState{}, false, fmt.Errorf("get transfer %s: %w", id, err)
	}
	if v == nil {
		return wallet.TransferState{}, false, nil
	}
	return v.(wallet.TransferState), true, nil
}

// Each calls fn for every transfer in the view, stopping at the first
// error.
func (t *Transfers) Each(fn func(s wallet.TransferState) error) error {
	return t.use(func(view *goka.View) error {
		it, err := view.Iterator()
		if err != nil {
			return fmt.Errorf("iterate %s: %w", topology.TransferTable, err)
		}
		defer it.Release()
		for it.Next() {
			v, err := it.Value()
			if err != nil {
				return fmt.Errorf("iterate %s: transfer %s: %w", topology.TransferTable, it.Key(), err)
			}
			if v == nil {
				continue
			}
			if err := fn(v.(wallet.TransferState)); err != nil {
				return err
			}
		}
		return it.Err()
	})
}
