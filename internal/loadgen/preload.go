package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
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

// signup writes the claim of name, keyed by its account key, with the
// given overdraft limit.
func (p *preloader) signup(ctx context.Context, rng *rand.Rand, name string, limit wallet.Money) error {
	key, err := wallet.AccountKey(name)
	if err != nil {
		return fmt.Errorf("preload: signup %q: %w", name, err)
	}
	value, err := topology.ClaimCodec.Encode(wallet.Claim{RequestID: harness.RandomUUID(rng), Username: name, OverdraftLimit: limit})
	if err != nil {
		return fmt.Errorf("preload: signup %q: %w", name, err)
	}
	p.produce(ctx, string(topology.SignupRequests), []byte(key), value)
	return nil
}

// transfer writes a transfer request, keyed by its request ID, in the
// JSON the API writes.
func (p *preloader) transfer(ctx context.Context, rng *rand.Rand, from, to string, cents int64) {
	id := requestID(rng)
	p.produce(ctx, string(topology.TransferRequests), []byte(id), appendBody(nil, id, from, to, cents))
}
