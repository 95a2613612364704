package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/wallet/wallet/kafka"
)

// boundTopic is the scratch topic of the bound measurement.
const boundTopic = "loadgen.bound"

// writesPerTransfer is the broker writes one transfer costs: the request
// in wallet.transfer_request, paymentd's table changelog, the two payments
// in wallet.payment, and the accountant's table changelog for each of the
// two accounts. (Reads, offset commits and the view are not counted.)
const writesPerTransfer = 6

// boundResult is the raw speed of the broker, as a Kafka client sees it,
// and the transfer rate it allows.
type boundResult struct {
	Messages     int     `json:"messages"`
	MessageBytes int     `json:"message_bytes"`
	ProducePerS  float64 `json:"produce_msgs_per_s"`
	ConsumePerS  float64 `json:"consume_msgs_per_s"`
	Writes       int     `json:"writes_per_transfer"`
	BoundPerS    float64 `json:"bound_transfers_per_s"`
}

// measureBound produces m messages of the size of value to the scratch
// topic with acks from all in-sync replicas, then consumes them, and
// derives the bound: min(produce, consume) / writesPerTransfer.
func measureBound(ctx context.Context, kc kafka.Config, m int, value []byte) (boundResult, error) {
	res := boundResult{Messages: m, MessageBytes: len(value), Writes: writesPerTransfer}
	start, err := prepareBoundTopic(kc)
	if err != nil {
		return res, err
	}
	produce, err := produceAll(ctx, kc.Brokers, m, value)
	if err != nil {
		return res, err
	}
	consume, err := consumeAll(ctx, kc.Brokers, m, start)
	if err != nil {
		return res, err
	}
	res.ProducePerS = perSecond(int64(m), produce)
	res.ConsumePerS = perSecond(int64(m), consume)
	res.BoundPerS = min(res.ProducePerS, res.ConsumePerS) / writesPerTransfer
	return res, nil
}

// prepareBoundTopic creates the scratch topic with the wallet's partition
// count unless it exists, and returns each partition's end offset, where
// this measurement's messages will start.
func prepareBoundTopic(kc kafka.Config) (map[int32]kgo.Offset, error) {
	sc := kc.Sarama()
	sc.ClientID = "loadgen-bound"
	admin, err := sarama.NewClusterAdmin(kc.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("bound: connect to Kafka at %v: %w", kc.Brokers, err)
	}
	defer admin.Close()
	detail := &sarama.TopicDetail{NumPartitions: int32(kc.Partitions), ReplicationFactor: int16(max(kc.Replication, 1))}
	if err := admin.CreateTopic(boundTopic, detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return nil, fmt.Errorf("bound: create topic %s: %w", boundTopic, err)
	}
	client, err := sarama.NewClient(kc.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("bound: connect to Kafka at %v: %w", kc.Brokers, err)
	}
	defer client.Close()
	var parts []int32
	for try := 0; ; try++ { // a new topic's metadata takes a moment
		if err := client.RefreshMetadata(boundTopic); err == nil {
			if parts, err = client.Partitions(boundTopic); err == nil && len(parts) > 0 {
				break
			}
		}
		if try == 50 {
			return nil, fmt.Errorf("bound: topic %s has no partitions after creation", boundTopic)
		}
		time.Sleep(100 * time.Millisecond)
	}
	offsets := make(map[int32]kgo.Offset, len(parts))
	for _, p := range parts {
		end, err := client.GetOffset(boundTopic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("bound: end offset of %s/%d: %w", boundTopic, p, err)
		}
		offsets[p] = kgo.NewOffset().At(end)
	}
	return offsets, nil
}

// produceAll writes m records and returns how long until all were
// acknowledged. The settings are the wallet's: acks from all in-sync
// replicas, idempotent, no compression, no linger.
func produceAll(ctx context.Context, brokers []string, m int, value []byte) (time.Duration, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.DefaultProduceTopic(boundTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return 0, fmt.Errorf("bound: producer: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, fmt.Errorf("bound: producer: %w", err)
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for i := range m {
		// Keys like the wallet's request IDs: 36 bytes, spread over the partitions.
		key := fmt.Appendf(nil, "%036s", strconv.Itoa(i))
		cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, fmt.Errorf("bound: flush: %w", err)
	}
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		return 0, fmt.Errorf("bound: %d of %d records not produced, the first: %v", n, m, firstErr.Load())
	}
	slog.Info("bound: produced", "messages", m, "took", took.Round(time.Millisecond))
	return took, nil
}

// consumeAll reads m records from the given offsets and returns how long
// it took.
func consumeAll(ctx context.Context, brokers []string, m int, from map[int32]kgo.Offset) (time.Duration, error) {
	start := time.Now()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{boundTopic: from}),
	)
	if err != nil {
		return 0, fmt.Errorf("bound: consumer: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	got := 0
	for got < m {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return 0, fmt.Errorf("bound: consumed %d of %d records: %w", got, m, ctx.Err())
		}
		if err := fetches.Err(); err != nil {
			return 0, fmt.Errorf("bound: consume: %w", err)
		}
		got += fetches.NumRecords()
	}
	took := time.Since(start)
	slog.Info("bound: consumed", "messages", got, "took", took.Round(time.Millisecond))
	return took, nil
}
