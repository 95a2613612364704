package topology

import (
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/rcrowley/go-metrics"
)

func init() {
	// sarama records metrics of every request, which nothing here reads:
	// 3.6% of the CPU at 3,900 transfers/s (docs/BENCHMARKS.md).
	metrics.UseNilMetrics = true
}

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
	// MinInsyncReplicas of new topics: with acks from all in-sync replicas,
	// a write is acknowledged once this many replicas have it. Default 1;
	// use 2 with a replication factor of 3.
	MinInsyncReplicas int
	// DedupeWindow is the accountant's dedupe age bound. EnsureTopics
	// refuses a configured Retention shorter than it, and warns about
	// existing streams that keep less.
	DedupeWindow time.Duration
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
	if c.MinInsyncReplicas <= 0 {
		c.MinInsyncReplicas = 1
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
	// A JoinGroup may be held by the coordinator for up to the rebalance
	// timeout: reading must wait longer than that, or each join times out,
	// leaves a member behind and starts another rebalance.
	s.Net.ReadTimeout = 30 * time.Second
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
	// Commit often: what a processor consumed since its last commit is
	// redelivered after a crash, and paymentd emits those payments again.
	s.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	s.Consumer.MaxProcessingTime = time.Second
	s.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	s.Consumer.Group.Session.Timeout = 6 * time.Second
	s.Consumer.Group.Heartbeat.Interval = time.Second
	s.Consumer.Group.Rebalance.Timeout = 20 * time.Second
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
			g, err := goka.ConsumerGroupBuilderWithConfig(c.Sarama())(brokers, group, clientID)
			if err != nil {
				return nil, err
			}
			return inOrderCommits{g}, nil
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
// exist yet, and checks that every one has the configured number of
// partitions: keys are routed by partition, so a mismatch would apply
// payments in the wrong place. Streams are deleted by age after Retention;
// tables are compacted, keeping the last value of every key. Several
// processes may call it at once.
func (c Config) EnsureTopics() error {
	c = c.withDefaults()
	if c.Retention < c.DedupeWindow {
		return fmt.Errorf("stream retention %s is shorter than the dedupe window %s: a redelivered payment could outlive its record; raise -retention or lower -dedupe-max-age", c.Retention, c.DedupeWindow)
	}
	s := c.Sarama()
	s.ClientID = "wallet-topics"
	admin, err := sarama.NewClusterAdmin(c.Brokers, s)
	if err != nil {
		return c.unreachable(err)
	}
	defer admin.Close()

	isr := strconv.Itoa(c.MinInsyncReplicas)
	retention := strconv.FormatInt(c.Retention.Milliseconds(), 10)
	stream := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": &retention, "min.insync.replicas": &isr}
	table := map[string]*string{"cleanup.policy": ptr("compact"), "min.insync.replicas": &isr}
	topics := []struct {
		name   string
		config map[string]*string
	}{
		{string(TransferRequests), stream},
		{string(Payments), stream},
		{string(DeadLetters), stream},
		{string(PaymentTable), table},
		{string(AccountTable), table},
	}
	for _, t := range topics {
		err := admin.CreateTopic(t.name, &sarama.TopicDetail{
			NumPartitions:     int32(c.Partitions),
			ReplicationFactor: int16(c.Replication),
			ConfigEntries:     t.config,
		}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.name, err)
		}
		if err := c.waitPartitions(admin, t.name); err != nil {
			return err
		}
	}
	return c.checkRetention(admin)
}

// waitPartitions waits until topic is visible with its partitions, which a
// real cluster takes a moment to do after creating it, and checks their
// number.
func (c Config) waitPartitions(admin sarama.ClusterAdmin, topic string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		meta, err := admin.DescribeTopics([]string{topic})
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", topic, err)
		}
		if len(meta) == 1 && meta[0].Err == sarama.ErrNoError && len(meta[0].Partitions) > 0 {
			if n := len(meta[0].Partitions); n != c.Partitions {
				return fmt.Errorf("topic %s has %d partitions but %d are configured: the wallet's topics are co-partitioned, so start every command with -partitions %d (or delete the topics to start afresh)",
					topic, n, c.Partitions, n)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s did not appear within 15s of its creation", topic)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ptr(s string) *string { return &s }

// checkRetention warns about existing streams, created by someone else or
// with other flags, that keep their messages for less than the dedupe
// window.
func (c Config) checkRetention(admin sarama.ClusterAdmin) error {
	if c.DedupeWindow <= 0 {
		return nil
	}
	for _, topic := range []goka.Stream{TransferRequests, Payments} {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: string(topic), ConfigNames: []string{"retention.ms"}})
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", topic, err)
		}
		for _, e := range entries {
			ms, err := strconv.ParseInt(e.Value, 10, 64)
			if e.Name != "retention.ms" || err != nil || ms < 0 {
				continue
			}
			if kept := time.Duration(ms) * time.Millisecond; kept < c.DedupeWindow {
				slog.Warn("stream retention is shorter than the dedupe window: a duplicate redelivered after its original expired would be applied again",
					"topic", topic, "retention", kept, "dedupe_window", c.DedupeWindow)
			}
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

// ReadPartition calls fn for the messages at offsets [from, to) of a
// partition of topic that are still there, in order, and gives up after
// timeout.
func (c Config) ReadPartition(topic string, partition int32, from, to int64, timeout time.Duration, fn func(offset int64, key string, value []byte)) error {
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return c.unreachable(err)
	}
	defer client.Close()
	oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("oldest offset of %s/%d: %w", topic, partition, err)
	}
	from = max(from, oldest)
	if from >= to {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, from)
	if err != nil {
		return fmt.Errorf("read %s/%d from %d: %w", topic, partition, from, err)
	}
	defer pc.Close()
	deadline := time.After(timeout)
	for {
		select {
		case msg := <-pc.Messages():
			if msg.Offset >= to {
				return nil
			}
			fn(msg.Offset, string(msg.Key), msg.Value)
			if msg.Offset == to-1 {
				return nil
			}
		case err := <-pc.Errors():
			return fmt.Errorf("read %s/%d: %w", topic, partition, err)
		case <-deadline:
			return fmt.Errorf("read %s/%d from %d to %d: not done after %s", topic, partition, from, to, timeout)
		}
	}
}
