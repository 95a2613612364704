package kafka

import (
	"context"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/wallet/wallet/topology"
)

// DefaultCommitInterval is how often, at most, a processor commits each
// partition's transaction while its input keeps coming, unless configured
// otherwise: Kafka Streams' default under exactly_once. A partition whose
// input runs dry commits sooner (pump). docs/BENCHMARKS.md measures what
// it costs.
const DefaultCommitInterval = 100 * time.Millisecond

// lingerShare is the share of the commit interval that a partition's
// messages wait to be sent together (20 ms of 100 ms): fewer, larger
// produce requests cost the broker less (docs/BENCHMARKS.md), and a
// commit does not wait it out.
const lingerShare = 5

// Transactions makes the goka processor of one group exactly once, the way
// Kafka Streams' exactly_once does:
//
//   - Each input partition has a transactional producer of its own
//     (goka.WithPartitionProducerBuilder, third_party/goka), whose
//     transactional ID names the group and the partition ("accountant-3").
//     It is initialised when the partition is assigned, before its table
//     is recovered and before its committed offset is read
//     (third_party/sarama, setup-before-offsets), and that fences the
//     partition's previous owner: the broker aborts its open transaction
//     and refuses its writes and commits from then on. A process paused
//     past its session can no longer write anything that anyone reads,
//     and the offsets its transaction held are not pending any more.
//   - The partition's outputs, its table's changelog writes and its input
//     offset commit in one transaction, once its input runs dry or a
//     commit interval has passed: the partition stops taking input, waits
//     until goka has finished every message it was given (their outputs
//     and table writes acknowledged in the transaction), and commits with
//     the offset after them. Either all of it becomes visible or none: an
//     input is never committed without its outputs, nor its outputs
//     visible without its commit.
//   - The table's writes wait in memory until their transaction commits
//     (staged); only then are they written to the local RocksDB, in
//     rounds of several transactions, which so holds only committed
//     state. After an abort, or a crash, the partition starts from that
//     state and reads the rest from the committed changelog.
//   - Everything reads read_committed: the input, the tables' changelogs
//     when a partition recovers, the views. A table's recovery reads to
//     the partition's last committed record (CommittedEnd).
//
// On any failure the partition's transaction is aborted with its staged
// writes: a write that fails (a fenced producer's, say) fails the
// partition, and goka ends the consumer-group session and joins again; a
// commit that fails stops the group's processor with the error, to be
// started again (run.processing). Either way the messages since the last
// commit are processed again, from the committed state, and decide the
// same.
//
// A Transactions serves one run of one processor. Each of the wallet's
// groups has one input; the commit is per input partition.
type Transactions struct {
	c        Config
	group    goka.Group
	input    string
	interval time.Duration

	mu    sync.Mutex
	parts map[int32]*txnPartition
	// failed is the first commit that failed, returned by the consumer
	// group's Consume so that the processor stops with it.
	failed error
}

// txnPartition is an input partition that the processor holds in the
// current consumer-group session: its producer, its table's staged
// storage, and how many messages goka has finished.
type txnPartition struct {
	producer *txnProducer
	table    *staged
	// finished counts the messages goka has finished (their outputs
	// acknowledged): it marks each, in its own time.
	finished atomic.Int64
	progress chan struct{}
}

// NewTransactions returns the transactions of group's processor, which
// commit every interval (zero means DefaultCommitInterval).
func NewTransactions(c Config, graph *goka.GroupGraph, interval time.Duration) (*Transactions, error) {
	inputs := graph.InputStreams()
	if len(inputs) != 1 {
		return nil, fmt.Errorf("group %s has %d inputs: its transactions commit the offset of one", graph.Group(), len(inputs))
	}
	if interval <= 0 {
		interval = DefaultCommitInterval
	}
	return &Transactions{c: c, group: graph.Group(), input: inputs[0].Topic(), interval: interval, parts: map[int32]*txnPartition{}}, nil
}

// Options returns the processor options that make it transactional, with
// its local tables kept by st.
func (t *Transactions) Options(st storage.Builder) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithHasher(topology.Hasher),
		goka.WithPartitionProducerBuilder(t.producer),
		goka.WithStorageBuilder(t.storage(st)),
		goka.WithConsumerGroupBuilder(t.consumerGroup),
		// Table recovery.
		goka.WithConsumerSaramaBuilder(t.c.consumer),
		goka.WithTopicManagerBuilder(t.c.topicManager),
		// goka builds a shared producer besides, which no partition
		// uses.
		goka.WithProducerBuilder(t.c.producer),
	}
}

// producer builds the transactional producer of a partition as goka
// assigns it to the processor.
func (t *Transactions) producer(_ []string, _ string, group goka.Group, partition int32, hasher func() hash.Hash32) (goka.Producer, error) {
	p, err := newTxnProducer(t.c, group, partition, hasher, t.interval/lingerShare)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parts[partition] = &txnPartition{producer: p, progress: make(chan struct{}, 1)}
	return closing{Producer: p, closed: func() { t.drop(partition, p) }}, nil
}

// closing is a producer that says when it has closed.
type closing struct {
	goka.Producer
	closed func()
}

func (c closing) Close() error {
	err := c.Producer.Close()
	c.closed()
	return err
}

// drop forgets the partition whose producer p has closed.
func (t *Transactions) drop(partition int32, p *txnProducer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if part := t.parts[partition]; part != nil && part.producer == p {
		delete(t.parts, partition)
	}
}

// storage returns the storage builder of the group table: st's storage,
// staged. goka builds a partition's table after its producer.
func (t *Transactions) storage(st storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		s, err := st(topic, partition)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		part := t.parts[partition]
		if part == nil {
			s.Close()
			return nil, fmt.Errorf("table %s/%d of group %s has no producer: only an assigned partition keeps a table", topic, partition, t.group)
		}
		part.table = newStaged(s)
		return part.table, nil
	}
}

func (t *Transactions) partition(p int32) *txnPartition {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.parts[p]
}

func (t *Transactions) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = err
	}
}

// consumerGroup builds the group's consumer: it reads read_committed,
// never commits offsets itself (the transactions do), and hands goka each
// partition's messages between commits.
func (t *Transactions) consumerGroup(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
	s := t.c.Sarama()
	s.ClientID = clientID
	s.Consumer.Offsets.AutoCommit.Enable = false
	g, err := sarama.NewConsumerGroup(brokers, group, s)
	if err != nil {
		return nil, err
	}
	return txnGroup{ConsumerGroup: g, t: t}, nil
}

type txnGroup struct {
	sarama.ConsumerGroup
	t *Transactions
}

// Consume consumes as sarama's consumer group does, and fails with the
// first commit that failed in the session.
func (g txnGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	if err := g.ConsumerGroup.Consume(ctx, topics, txnHandler{inner: h, t: g.t}); err != nil {
		return err
	}
	g.t.mu.Lock()
	defer g.t.mu.Unlock()
	return g.t.failed
}

// txnHandler hands goka a session whose marks count finished messages,
// and claims whose messages pause for each commit.
type txnHandler struct {
	inner sarama.ConsumerGroupHandler
	t     *Transactions
}

func (h txnHandler) Setup(s sarama.ConsumerGroupSession) error {
	return h.inner.Setup(txnSession{ConsumerGroupSession: s, t: h.t})
}

func (h txnHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(txnSession{ConsumerGroupSession: s, t: h.t})
}

func (h txnHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	part := h.t.partition(claim.Partition())
	if part == nil {
		return fmt.Errorf("partition %s/%d of group %s has no producer", claim.Topic(), claim.Partition(), h.t.group)
	}
	ctx, stop := context.WithCancel(s.Context())
	defer stop()
	// Buffered, so that the pump hands on a burst of messages without
	// waiting for goka's goroutine to take each one: unbuffered, every
	// message switched goroutines. A commit waits for goka to finish every
	// message handed on, these included.
	messages := make(chan *sarama.ConsumerMessage, pumpBuffer)
	pumped := make(chan error, 1)
	go func() { pumped <- h.t.pump(ctx, s, part, claim, messages) }()
	err := h.inner.ConsumeClaim(txnSession{ConsumerGroupSession: s, t: h.t}, pumpedClaim{ConsumerGroupClaim: claim, messages: messages})
	stop()
	if perr := <-pumped; perr != nil {
		h.t.fail(perr)
		return perr
	}
	return err
}

// pumpBuffer is how many messages the pump hands on ahead of goka. 64
// ran processing on the embedded broker 1.06 times as fast as none (the
// median of nine alternated pairs); 256 was no faster (docs/BENCHMARKS.md).
const pumpBuffer = 64

// pump hands goka the claim's messages and commits the partition's
// transaction, until ctx is done, the claim ends or a commit fails. It
// closes out when it returns, which ends goka's consumption of the claim.
//
// It commits when the input has run dry for a linger (a twentieth of the
// interval, 5 ms by default), so that a transfer's steps wait for no
// timer while the wallet is lightly loaded, and at least every interval
// while messages keep coming, so that a loaded wallet commits many
// messages at once.
func (t *Transactions) pump(ctx context.Context, s sarama.ConsumerGroupSession, part *txnPartition, claim sarama.ConsumerGroupClaim, out chan<- *sarama.ConsumerMessage) error {
	defer close(out)
	// The interval runs from the start of the last commit, as in Kafka
	// Streams, so that a commit made when the input ran dry is not
	// followed by another one at once.
	tick := time.NewTimer(t.interval)
	defer tick.Stop()
	linger := t.interval / 20
	dry := time.NewTimer(linger)
	dry.Stop()
	var (
		given     int64 // messages handed to goka
		next      int64 // the offset after the last one
		committed int64 // messages handed to goka when last committed
	)
	commit := func() error {
		tick.Reset(t.interval)
		if given == committed {
			return nil
		}
		if err := t.commit(ctx, s, part, claim.Partition(), given, next); err != nil {
			if ctx.Err() != nil {
				return nil // the session ended: the transaction is aborted
			}
			return err
		}
		committed = given
		return nil
	}
	// give hands msg to goka; it reports false if the session ended
	// first. A message goka can take at once skips the select.
	give := func(msg *sarama.ConsumerMessage) bool {
		select {
		case out <- msg:
		default:
			select {
			case out <- msg:
			case <-ctx.Done():
				return false
			}
		}
		given, next = given+1, msg.Offset+1
		return true
	}
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok || !give(msg) {
				return nil
			}
			// The messages already waiting go on without a select
			// over the timers: only this loop takes from the claim.
			for n := len(claim.Messages()); n > 0; n-- {
				if msg, ok = <-claim.Messages(); !ok || !give(msg) {
					return nil
				}
			}
			dry.Reset(linger)
		case <-dry.C:
			if len(claim.Messages()) > 0 {
				continue // the interval commits
			}
			if err := commit(); err != nil {
				return err
			}
		case <-tick.C:
			if err := commit(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// commit waits until goka has finished the given messages, the last of
// them before offset next, and commits the partition's transaction with
// next; then it writes the staged table writes to the local storage. A
// transaction in which nothing was produced has nothing to make visible:
// its offset commits through the consumer group, as the session's member.
func (t *Transactions) commit(ctx context.Context, s sarama.ConsumerGroupSession, part *txnPartition, partition int32, given, next int64) error {
	part.producer.flushing(true)
	defer part.producer.flushing(false)
	for part.finished.Load() < given {
		select {
		case <-part.progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if part.producer.empty() {
		return part.producer.commitOffset(t.group, t.input, partition, next, s.GenerationID(), s.MemberID())
	}
	if err := part.producer.commit(ctx, t.group, t.input, partition, next); err != nil {
		return err
	}
	if part.table == nil {
		return nil
	}
	if err := part.table.commit(part.producer.changelogEnd()); err != nil {
		return fmt.Errorf("write the committed transaction of %s to the local table: %w", part.producer.id, err)
	}
	return nil
}

// pumpedClaim is a claim whose messages come through the pump.
type pumpedClaim struct {
	sarama.ConsumerGroupClaim
	messages chan *sarama.ConsumerMessage
}

func (c pumpedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.messages }

// txnSession is the session goka sees: a message it marks is one it has
// finished, and its offset commits with the next transaction, not
// through the consumer group.
type txnSession struct {
	sarama.ConsumerGroupSession
	t *Transactions
}

func (s txnSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	part := s.t.partition(partition)
	if part == nil {
		return
	}
	part.finished.Add(1)
	select {
	case part.progress <- struct{}{}:
	default:
	}
}

func (s txnSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}

// Commit does nothing: offsets commit with the transactions.
func (s txnSession) Commit() {}

// ResetOffset does nothing: offsets commit with the transactions.
func (s txnSession) ResetOffset(string, int32, int64, string) {}
