package emitter

import (
	"context"
	"fmt"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// Claims emits claims of usernames, keyed by account key, so that every
// claim of one name lands in one partition.
type Claims struct {
	emitter *goka.Emitter
}

// NewClaims returns an emitter of claims. opts must say how to reach Kafka
// (or goka.WithEmitterTester).
func NewClaims(brokers []string, opts ...goka.EmitterOption) (*Claims, error) {
	e, err := goka.NewEmitter(brokers, topology.SignupRequests, topology.ClaimCodec, opts...)
	if err != nil {
		return nil, fmt.Errorf("create emitter of %s: %w", topology.SignupRequests, err)
	}
	return &Claims{emitter: e}, nil
}

// Send stores the claim of account key and returns once Kafka has
// acknowledged it, or an error.
func (s *Claims) Send(ctx context.Context, key string, c wallet.Claim) error {
	if err := send(ctx, s.emitter, key, c); err != nil {
		return fmt.Errorf("emit claim %s of %q: %w", c.RequestID, key, err)
	}
	return nil
}

// SendKeyChange stores a change of an account's API keys, under the
// account key beside its claims, and returns once Kafka has acknowledged
// it, or an error.
func (s *Claims) SendKeyChange(ctx context.Context, k wallet.KeyChange) error {
	if err := send(ctx, s.emitter, k.Account, k); err != nil {
		return fmt.Errorf("emit key change %s of %q: %w", k.RequestID, k.Account, err)
	}
	return nil
}

// Close waits for pending messages and closes the producer.
func (s *Claims) Close() error {
	if err := s.emitter.Finish(); err != nil {
		return fmt.Errorf("close emitter of %s: %w", topology.SignupRequests, err)
	}
	return nil
}
