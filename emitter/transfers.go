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
	e, err := goka.NewEmitter(brokers, topology.TransferRequests, topology.TransferLogCodec, opts...)
	if err != nil {
		return nil, fmt.Errorf("create emitter of %s: %w", topology.TransferRequests, err)
	}
	return &Transfers{emitter: e}, nil
}

// Send stores t and returns once Kafka has acknowledged it, or an error.
func (s *Transfers) Send(ctx context.Context, t wallet.Transfer) error {
	if err := send(ctx, s.emitter, t.RequestID.String(), t); err != nil {
		return fmt.Errorf("emit transfer %s: %w", t.RequestID, err)
	}
	return nil
}

// Close waits for pending messages and closes the producer.
func (s *Transfers) Close() error {
	if err := s.emitter.Finish(); err != nil {
		return fmt.Errorf("close emitter of %s: %w", topology.TransferRequests, err)
	}
	return nil
}
