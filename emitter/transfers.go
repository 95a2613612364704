// Package emitter holds the write side of the wallet: a goka emitter that
// stores accepted transfers in wallet.transfer_request and reports when
// Kafka has acknowledged them.
package emitter

import (
	"context"
	"fmt"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// Transfers emits transfers, keyed by request ID.
type Transfers struct {
	emitter *goka.Emitter
}

// NewTransfers returns an emitter of transfers. opts must say how to reach
// Kafka (or goka.WithEmitterTester).
func NewTransfers(brokers []string, opts ...goka.EmitterOption) (*Transfers, error) {
	e, err := goka.NewEmitter(brokers, topology.TransferRequests, topology.TransferRequestCodec, opts...)
	if err != nil {
		return nil, fmt.Errorf("create emitter of %s: %w", topology.TransferRequests, err)
	}
	return &Transfers{emitter: e}, nil
}

// Send stores t and returns once Kafka has acknowledged it, or with an
// error when it did not before ctx was done. After an error the transfer
// may or may not have been stored: the client retries with the same
// request ID and the duplicate is absorbed downstream.
func (s *Transfers) Send(ctx context.Context, t wallet.Transfer) error {
	promise, err := s.emitter.Emit(t.RequestID.String(), t)
	if err != nil {
		return fmt.Errorf("emit transfer %s: %w", t.RequestID, err)
	}
	done := make(chan error, 1)
	promise.Then(func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("emit transfer %s: %w", t.RequestID, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("emit transfer %s: not acknowledged: %w", t.RequestID, ctx.Err())
	}
}

// Close waits for pending messages and closes the producer.
func (s *Transfers) Close() error {
	if err := s.emitter.Finish(); err != nil {
		return fmt.Errorf("close emitter of %s: %w", topology.TransferRequests, err)
	}
	return nil
}
