package topology

import (
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Config says where Kafka is and how the wallet's topics are laid out.
type Config struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string
	// Partitions of every topic and table; co-partitioned topics must agree.
	// Default 2.
	Partitions int
	// Replication factor of new topics. Default 1, for a one-broker cluster.
	Replication int
	// Retention of the streams. Default 30 days: longer than the accountant's
	// dedupe window, so that a redelivered payment is still in the log.
	Retention time.Duration
}

// DefaultPartitions is the number of partitions of every topic unless
// configured otherwise.
const DefaultPartitions = 2

// DefaultRetention is the stream retention unless configured otherwise.
const DefaultRetention = 30 * 24 * time.Hour

func (c Config) withDefaults() Config {
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Replication <= 0 {
		c.Replication = 1
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	return c
}

// ParseBrokers splits a comma-separated list of addresses.
func ParseBrokers(s string) []string {
	var brokers []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return brokers
}

// Sarama returns the Kafka client settings every component uses: acks from
// all in-sync replicas and the idempotent producer, so that retries neither
// duplicate nor reorder; no flush delay, so that a lone message is sent at
// once while the one request in flight batches the rest; streams consumed
// from the oldest offset, so that nothing written before a group first
// started is skipped.
func (c Config) Sarama() *sarama.Config {
	s := sarama.NewConfig()
	s.Version = sarama.V2_1_0_0
	s.Net.DialTimeout = 3 * time.Second
	s.Net.ReadTimeout = 10 * time.Second
	s.Net.WriteTimeout = 10 * time.Second
	s.Metadata.Retry.Max = 3
	s.Metadata.Retry.Backoff = 500 * time.Millisecond

	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Producer.Idempotent = true
	s.Net.MaxOpenRequests = 1
	s.Producer.Retry.Max = 10
	s.Producer.Retry.Backoff = 250 * time.Millisecond
	s.Producer.Return.Successes = true
	s.Producer.Return.Errors = true
	s.Producer.Compression = sarama.CompressionNone
	s.Producer.Partitioner = sarama.NewCustomHashPartitioner(Hasher)

	s.Consumer.Return.Errors = true
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	s.Consumer.MaxProcessingTime = time.Second
	s.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	s.Consumer.Group.Session.Timeout = 6 * time.Second
	s.Consumer.Group.Heartbeat.Interval = time.Second
	return s
}

// ProcessorOptions wires a goka processor to Kafka with the wallet's
// settings and Kafka's partitioner. The caller adds the storage.
func (c Config) ProcessorOptions() []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithHasher(Hasher),
		goka.WithProducerBuilder(c.producer),
		goka.WithTopicManagerBuilder(c.topicManager),
		goka.WithConsumerGroupBuilder(func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
			return goka.ConsumerGroupBuilderWithConfig(c.Sarama())(brokers, group, clientID)
		}),
		goka.WithConsumerSaramaBuilder(c.consumer),
	}
}

// ViewOptions wires a goka view to Kafka like ProcessorOptions. The view
// reconnects after the broker restarts and keeps serving what it has.
func (c Config) ViewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewHasher(Hasher),
		goka.WithViewTopicManagerBuilder(c.topicManager),
		goka.WithViewConsumerSaramaBuilder(c.consumer),
		goka.WithViewAutoReconnect(),
	}
}

// EmitterOptions wires a goka emitter to Kafka like ProcessorOptions.
func (c Config) EmitterOptions() []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterHasher(Hasher),
		goka.WithEmitterProducerBuilder(c.producer),
		goka.WithEmitterTopicManagerBuilder(c.topicManager),
	}
}

func (c Config) producer(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
	return goka.ProducerBuilderWithConfig(c.Sarama())(brokers, clientID, hasher)
}

func (c Config) consumer(brokers []string, clientID string) (sarama.Consumer, error) {
	return goka.SaramaConsumerBuilderWithConfig(c.Sarama())(brokers, clientID)
}

func (c Config) topicManager(brokers []string) (goka.TopicManager, error) {
	c = c.withDefaults()
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication = c.Replication
	tm.Stream.Replication = c.Replication
	tm.Stream.Retention = c.Retention
	s := c.Sarama()
	s.ClientID = "wallet-topic-manager"
	return goka.NewTopicManager(brokers, s, tm)
}

// EnsureTopics creates every topic and table of the wallet that does not
// exist yet, and checks that existing ones have the configured number of
// partitions: keys are routed by partition, so a mismatch would apply
// payments in the wrong place.
func (c Config) EnsureTopics() error {
	c = c.withDefaults()
	tm, err := c.topicManager(c.Brokers)
	if err != nil {
		return c.unreachable(err)
	}
	defer tm.Close()

	streams := []string{string(TransferRequests), string(Payments), string(DeadLetters)}
	tables := []string{string(PaymentTable), string(AccountTable)}
	for _, topic := range append(streams, tables...) {
		parts, err := tm.Partitions(topic)
		// goka's topic manager reports a missing topic only by this text.
		if err != nil && err.Error() != "requested topic was not found" {
			return fmt.Errorf("check topic %s: %w", topic, err)
		}
		if len(parts) > 0 && len(parts) != c.Partitions {
			return fmt.Errorf("topic %s has %d partitions but %d are configured: the wallet's topics are co-partitioned, so start every command with -partitions %d (or delete the topics to start afresh)",
				topic, len(parts), c.Partitions, len(parts))
		}
	}
	for _, s := range streams {
		if err := tm.EnsureStreamExists(s, c.Partitions); err != nil {
			return fmt.Errorf("create stream %s: %w", s, err)
		}
	}
	for _, t := range tables {
		if err := tm.EnsureTableExists(t, c.Partitions); err != nil {
			return fmt.Errorf("create table %s: %w", t, err)
		}
	}
	return nil
}

// Ping checks that Kafka answers, with an error that names the address and
// how to start a broker.
func (c Config) Ping() error {
	s := c.Sarama()
	s.ClientID = "wallet-ping"
	client, err := sarama.NewClient(c.Brokers, s)
	if err != nil {
		return c.unreachable(err)
	}
	return client.Close()
}

// ErrUnreachable is returned when no broker answers.
var ErrUnreachable = errors.New("cannot reach Kafka")

func (c Config) unreachable(err error) error {
	return fmt.Errorf("%w at %s (%v): start the embedded broker with `go run ./cmd/broker`, run everything with `make run`, or pass -brokers",
		ErrUnreachable, strings.Join(c.Brokers, ","), err)
}
