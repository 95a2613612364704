package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// preloader writes requests straight into the wallet's request logs, as
// the API's emitters would, but without the API: franz-go's default
// partitioner hashes keys with Kafka's murmur2, as the wallet does, so
// every message lands in the partition the API would have chosen.
type preloader struct {
	cl     *kgo.Client
	failed atomic.Int64
	first  atomic.Value // the first produce error
}

func newPreloader(ctx context.Context, brokers []string) (*preloader, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1<<20),
	)
	if err != nil {
		return nil, fmt.Errorf("preload: producer: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("preload: producer: %w", err)
	}
	return &preloader{cl: cl}, nil
}

func (p *preloader) close() { p.cl.Close() }

func (p *preloader) produce(ctx context.Context, topic string, key, value []byte) {
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil && p.failed.Add(1) == 1 {
			p.first.Store(err)
		}
	})
}

// flush waits until everything produced is acknowledged and reports the
// first failure.
func (p *preloader) flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("preload: flush: %w", err)
	}
	if n := p.failed.Load(); n > 0 {
		return fmt.Errorf("preload: %d records not produced, the first: %v", n, p.first.Load())
	}
	return nil
}

// signup writes the claim of name under request ID id, keyed by its
// account key, with the given overdraft limit.
func (p *preloader) signup(ctx context.Context, id uuid.UUID, name string, limit wallet.Money) error {
	key, err := wallet.AccountKey(name)
	if err != nil {
		return fmt.Errorf("preload: signup %q: %w", name, err)
	}
	value, err := topology.ClaimCodec.Encode(wallet.Claim{RequestID: id, Username: name, OverdraftLimit: limit})
	if err != nil {
		return fmt.Errorf("preload: signup %q: %w", name, err)
	}
	p.produce(ctx, string(topology.SignupRequests), []byte(key), value)
	return nil
}

// transfer writes transfer request t, keyed by its request ID, encoded as
// the API writes it.
func (p *preloader) transfer(ctx context.Context, t request) error {
	id, err := uuid.Parse(t.id)
	if err != nil {
		return fmt.Errorf("preload: transfer %q: %w", t.id, err)
	}
	value, err := topology.TransferLogCodec.Encode(wallet.Transfer{RequestID: id, From: t.from, To: t.to, Amount: wallet.Cents(t.cents)})
	if err != nil {
		return fmt.Errorf("preload: transfer %s: %w", t.id, err)
	}
	p.produce(ctx, string(topology.TransferRequests), []byte(t.id), value)
	return nil
}
