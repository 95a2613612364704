// Package kafka holds the wallet's Kafka plumbing: the client settings every
// command uses (sarama's for goka, franz-go's for the rest), secured by
// Security (SASL, TLS); the transactions that make the processors exactly
// once; topic creation and ACLs derived from the topology; a reachability
// check; and reading partitions, their committed ends and the groups'
// lags. The names and graphs themselves are in topology.
package kafka

import (
	"hash"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/rcrowley/go-metrics"
	"github.com/wallet/wallet/topology"
)

func init() {
	// sarama records metrics of every request, which nothing here reads and
	// which cost a visible share of the CPU (docs/BENCHMARKS.md).
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
	// Retention of the streams. Default 30 days. Keep it well above the
	// longest outage: a group whose committed offset falls behind what is
	// kept skips what was deleted.
	Retention time.Duration
	// MinInsyncReplicas of new topics: with acks from all in-sync replicas,
	// a write is acknowledged once this many replicas have it. Default 1;
	// use 2 with a replication factor of 3.
	MinInsyncReplicas int
	// Security is how the client authenticates and protects the
	// connection; the zero value is plaintext without authentication.
	Security Security
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
// once while the one request in flight batches the rest; read_committed
// consumers, which never see what an aborted or open transaction wrote
// (Transactions); streams consumed from the oldest offset, so that nothing
// written before a group first started is skipped.
func (c Config) Sarama() *sarama.Config {
	s := sarama.NewConfig()
	// 2.5 and later let a transactional producer abort a transaction that
	// failed and go on under a bumped epoch (KIP-360) rather than die,
	// and 2.7 and later tell a fenced producer so (PRODUCER_FENCED,
	// KIP-588). Kafka 4 serves 2.1 and later.
	s.Version = sarama.V2_8_0_0
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
	// A message, and a transaction's requests, are retried for longer
	// than Kafka takes to elect new leaders after a broker dies (about
	// 9 s: broker.session.timeout.ms), so that a leader move fails
	// nothing. A message that fails makes an idempotent producer bump
	// its epoch and renumber every partition, which fails the messages
	// still in flight (docs/LEADERS.md, cause 3).
	s.Producer.Retry.Max, s.Producer.Retry.BackoffFunc = retryFor(retryWindow)
	s.Producer.Transaction.Retry.Max, s.Producer.Transaction.Retry.BackoffFunc = retryFor(retryWindow)
	s.Producer.Return.Successes = true
	s.Producer.Return.Errors = true
	s.Producer.Compression = sarama.CompressionNone
	s.Producer.Partitioner = sarama.NewCustomHashPartitioner(topology.Hasher)

	s.Consumer.Return.Errors = true
	s.Consumer.IsolationLevel = sarama.ReadCommitted
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	s.Consumer.MaxProcessingTime = time.Second
	s.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	s.Consumer.Group.Session.Timeout = 6 * time.Second
	s.Consumer.Group.Heartbeat.Interval = time.Second
	// Also how long a member keeps trying to reach a coordinator that
	// stopped answering (third_party/sarama): longer than Kafka takes to
	// elect another after a broker dies (about 9 s), so that the member
	// keeps its partitions and its generation.
	s.Consumer.Group.Rebalance.Timeout = 20 * time.Second
	c.Security.apply(s)
	return s
}

// retryWindow is how long a message or a transaction's request is
// retried: three times an election.
const retryWindow = 30 * time.Second

// retryFor returns a number of retries and their backoff that together
// last about d: pauses doubling from 100 ms to at most 1 s, as the Java
// client's retry.backoff.ms and retry.backoff.max.ms.
func retryFor(d time.Duration) (int, func(retries, maxRetries int) time.Duration) {
	return retryFrom(100*time.Millisecond, d)
}

// retryFrom returns a number of retries and their backoff that together
// last about d: pauses doubling from first to at most 1 s.
func retryFrom(first, d time.Duration) (int, func(retries, maxRetries int) time.Duration) {
	backoff := func(retries, _ int) time.Duration {
		return min(first<<min(retries, 6), time.Second)
	}
	n := 0
	for total := time.Duration(0); total < d; n++ {
		total += backoff(n, 0)
	}
	return n, backoff
}

// ViewOptions wires a goka view to Kafka with the wallet's settings and
// Kafka's partitioner: it reads read_committed, to the table's last
// committed record. The view reconnects after the broker restarts and
// keeps serving what it has.
func (c Config) ViewOptions() []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewHasher(topology.Hasher),
		goka.WithViewTopicManagerBuilder(c.topicManager),
		goka.WithViewConsumerSaramaBuilder(c.consumer),
		goka.WithViewAutoReconnect(),
	}
}

// EmitterOptions wires a goka emitter to Kafka with the wallet's settings
// and Kafka's partitioner: an idempotent producer, outside transactions.
func (c Config) EmitterOptions() []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterHasher(topology.Hasher),
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
	m, err := goka.NewTopicManager(brokers, s, tm)
	if err != nil {
		return nil, err
	}
	return committedEnds{TopicManager: m, c: c}, nil
}

// committedEnds is goka's topic manager, except that the newest offset of
// a partition is the one after its last committed record (CommittedEnd).
// goka asks for it only to recover a table, which it reads until it has
// received the record before that offset: with the end offset of a
// partition written in transactions, which ends in a marker that no
// reader receives, a table would never finish recovering.
type committedEnds struct {
	goka.TopicManager
	c Config
}

func (m committedEnds) GetOffset(topic string, partition int32, at int64) (int64, error) {
	if at == sarama.OffsetNewest {
		return m.c.CommittedEnd(topic, partition)
	}
	return m.TopicManager.GetOffset(topic, partition, at)
}
