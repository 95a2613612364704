package views

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
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
// The view reads the table as paymentd does when it recovers
// (processors.Bounds.ReadTransfers), with b, which must validate: records
// that no processor wrote are ignored.
func NewTransfers(brokers []string, b processors.Bounds, opts ...goka.ViewOption) (*Transfers, error) {
	t, err := newTable(brokers, topology.TransferTable, topology.TransferStateCodec, b, processors.Bounds.ReadTransfers, opts)
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
	s, err = v.(codecs.StoredTransfer).For(id.String())
	if err != nil {
		return wallet.TransferState{}, false, fmt.Errorf("get transfer %s: the value %w", id, err)
	}
	return s, true, nil
}

// Each calls fn for every transfer in the view, stopping at the first
// error fn returns. A transfer whose value does not decode is given to fn
// with its request ID and the error, so that the others are still read.
func (t *Transfers) Each(fn func(id string, s wallet.TransferState, err error) error) error {
	return t.each(func(key string, v any, err error) error {
		if err != nil {
			return fn(key, wallet.TransferState{}, err)
		}
		s, err := v.(codecs.StoredTransfer).For(key)
		if err != nil {
			return fn(key, wallet.TransferState{}, fmt.Errorf("the value %w", err))
		}
		return fn(key, s, nil)
	})
}
