package kafka

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// TransactionTimeout is how long the broker lets a transaction stay open
// before it aborts it: a transaction left open by a process that died or
// is paused, and whose partition no other process has taken over yet,
// holds back every read_committed reader of the partitions it wrote to
// until then. It is twice Kafka Streams' 10 s under exactly_once because
// a transaction open when its coordinator's broker dies must outlive the
// election (about 9-10 s on Apache Kafka, broker.session.timeout.ms 9 s):
// otherwise the new coordinator aborts it, the producer is told it is
// fenced, and its group restarts (docs/LEADERS.md).
const TransactionTimeout = 20 * time.Second

// txnProducer is the transactional producer of one input partition of a
// group, as goka uses a producer (emits resolve promises), and the
// transaction's commit and abort. Its transactional ID names the group
// and the partition: creating it fences the partition's previous owner.
//
// It keeps every message of the open transaction until the transaction
// commits, so that a transaction that fails for a reason Kafka calls
// abortable (a leader or coordinator moving, a broker dying) is aborted
// and sent again whole, rather than the group restarted (commit).
//
// The writes to the group's own table (its changelog) are cached until
// the commit, as Kafka Streams' record cache does: a key written several
// times in a transaction reaches the changelog once, with its last value
// (or tombstone), which is what the staged table applies to the local
// storage at the commit (staged keeps the last write of each key too).
type txnProducer struct {
	id string
	// changelog is the topic of the group's table.
	changelog string
	client    sarama.Client
	p         sarama.AsyncProducer
	flusher   flusher
	wg        sync.WaitGroup

	// txn is held by each attempt to commit and by Close, which must not
	// close the producer under an attempt.
	txn sync.Mutex

	mu sync.Mutex
	// open holds the messages sent in the open transaction, in order:
	// those emitted, and once the commit has sent them, the cached
	// changelog writes, one per key.
	open []message
	// cached holds the changelog writes of the open transaction not sent
	// yet, one per key, the last; cachedKeys the index of each key's.
	cached     []message
	cachedKeys map[string]int
	// attemptOffset is the offset of the last changelog record that the
	// broker has acknowledged in the open transaction's current attempt,
	// committedOffset that of the transactions committed; -1 if none.
	attemptOffset, committedOffset int64
	// failed is the first error of a message of the open transaction's
	// current attempt.
	failed error
}

// message is a message of the open transaction, as emitted.
type message struct {
	topic, key string
	value      []byte
	headers    []sarama.RecordHeader
}

// delivered is the Metadata of every message the producer sends: what to
// do with its result.
type delivered func(m *sarama.ProducerMessage, err error)

// transactionalID returns the transactional ID of a group's producer for
// an input partition: "accountant-3".
func transactionalID(group goka.Group, partition int32) string {
	return fmt.Sprintf("%s%d", TransactionalIDPrefix(group), partition)
}

// TransactionalIDPrefix is what the transactional IDs of a group's
// producers begin with: the group's name and a dash. The processors'
// principal may use every one (ACLs).
func TransactionalIDPrefix(group goka.Group) string { return string(group) + "-" }

// concurrentTxnBackoff is the first pause before a transaction's request
// is sent again, as the Java producer's pause after
// CONCURRENT_TRANSACTIONS; the next pauses double, to at most 1 s.
const concurrentTxnBackoff = 20 * time.Millisecond

// initRetries is how long newTxnProducer keeps trying while the broker
// answers that the previous owner's transaction is still being completed.
const initRetries = 30 * time.Second

// newTxnProducer initialises the transactional producer of a group's
// input partition, which fences the previous producer of the same ID:
// the broker aborts its open transaction and refuses its writes and
// commits from then on. Then it begins a transaction. Its messages wait
// up to linger before they are sent, except during a commit (zero sends
// each at once).
//
// While the broker completes the previous owner's transaction (it aborts
// an open one first), it answers CONCURRENT_TRANSACTIONS, which sarama
// takes for fatal: the initialisation is tried again, with a new client
// each time (sarama does not close the one of a failed producer).
func newTxnProducer(c Config, group goka.Group, partition int32, hasher func() hash.Hash32, linger time.Duration) (*txnProducer, error) {
	id := transactionalID(group, partition)
	s := c.Sarama()
	s.ClientID = id
	s.Producer.Transaction.ID = id
	s.Producer.Transaction.Timeout = TransactionTimeout
	// After a commit, Apache Kafka answers the next transaction's first
	// request (AddPartitionsToTxn, sent with its first message)
	// CONCURRENT_TRANSACTIONS until it has written the commit's markers,
	// a few milliseconds later, and every message of the partition waits
	// for the retry. sarama shortens that one pause to 20 ms, as the Java
	// producer does, only without a BackoffFunc: at the 100 ms of
	// Sarama's, nearly half the transactions stalled for 100 ms while
	// the processors idled. The retries still last retryWindow.
	s.Producer.Transaction.Retry.Max, s.Producer.Transaction.Retry.BackoffFunc = retryFrom(concurrentTxnBackoff, retryWindow)
	s.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
	// Between commits nothing waits for a message's acknowledgement, so
	// each waits up to linger for others to travel with it, in fewer
	// and larger produce requests, as Kafka Streams' producers linger
	// (100 ms); the commit sends what is held at once (flushing).
	s.Producer.Flush.Frequency = linger
	// One client per producer: metadata of the topics it writes only.
	s.Metadata.Full = false
	deadline := time.Now().Add(initRetries)
	for {
		client, err := sarama.NewClient(c.Brokers, s)
		if err != nil {
			return nil, c.unreachable(err)
		}
		ap, err := sarama.NewAsyncProducerFromClient(client)
		if err == nil {
			err = ap.BeginTxn()
			if err != nil {
				ap.Close()
			}
		}
		if err == nil {
			return startTxnProducer(id, string(goka.GroupTable(group)), client, ap), nil
		}
		client.Close()
		if !errors.Is(err, sarama.ErrConcurrentTransactions) || time.Now().After(deadline) {
			return nil, fmt.Errorf("initialise the transactional producer %s: %w", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startTxnProducer hands each result of what ap produces to the
// message's delivered func. Writes to changelog, the group's table, are
// cached until the commit.
func startTxnProducer(id, changelog string, client sarama.Client, ap sarama.AsyncProducer) *txnProducer {
	p := &txnProducer{id: id, changelog: changelog, client: client, p: ap, cachedKeys: map[string]int{}, attemptOffset: -1, committedOffset: -1}
	if f, ok := ap.(flusher); ok {
		p.flusher = f
	} else {
		slog.Warn("sarama is not patched (third_party/sarama, make deps): each commit waits out the linger", "producer", id)
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for m := range ap.Successes() {
			m.Metadata.(delivered)(m, nil)
		}
	}()
	go func() {
		defer p.wg.Done()
		for e := range ap.Errors() {
			e.Msg.Metadata.(delivered)(e.Msg, e.Err)
		}
	}()
	return p
}

func (p *txnProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

// EmitWithHeaders sends a message in the open transaction. Its promise
// fails only if the transaction can never commit (the producer is fenced,
// or not authorised), which stops the partition. A message that fails for
// a reason Kafka calls abortable resolves its promise all the same: the
// message is kept, and commit sends it again in a new transaction.
//
// A write to the group's changelog is not sent: it replaces the key's
// earlier write in the open transaction, if any, and its promise resolves
// at once, without a message (so goka sets no table offset: the staged
// table gets the offset at the commit). commit sends it, and a fatal
// failure fails the commit instead of the promise.
func (p *txnProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	m := message{topic: topic, key: key, value: value, headers: headers.ToSarama()}
	p.mu.Lock()
	if topic == p.changelog {
		if i, ok := p.cachedKeys[key]; ok {
			p.cached[i] = m
		} else {
			p.cachedKeys[key] = len(p.cached)
			p.cached = append(p.cached, m)
		}
		p.mu.Unlock()
		finish(nil, nil)
		return promise
	}
	p.open = append(p.open, m)
	p.mu.Unlock()
	p.send(m, func(sm *sarama.ProducerMessage, err error) {
		if err != nil && !p.fatal(err) {
			p.fail(err)
			err = nil
		}
		finish(sm, err)
	})
	return promise
}

func (p *txnProducer) send(m message, result delivered) {
	p.p.Input() <- &sarama.ProducerMessage{
		Topic:    m.topic,
		Key:      sarama.StringEncoder(m.key),
		Value:    sarama.ByteEncoder(m.value),
		Headers:  m.headers,
		Metadata: result,
	}
}

// fatal reports whether err, a failure of the producer, means that its
// transactions can never commit: it has been fenced by the partition's
// next owner, or is not authorised. Any other failure is abortable: the
// transaction can be aborted and tried again.
func (p *txnProducer) fatal(err error) bool {
	return p.p.TxnStatus()&sarama.ProducerTxnFlagFatalError != 0 ||
		errors.Is(err, sarama.ErrProducerFenced) ||
		errors.Is(err, sarama.ErrInvalidProducerEpoch) ||
		errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed) ||
		errors.Is(err, sarama.ErrClusterAuthorizationFailed) ||
		errors.Is(err, sarama.ErrTopicAuthorizationFailed)
}

// fail records the first failure of the open transaction's attempt.
func (p *txnProducer) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed == nil {
		p.failed = err
	}
}

// empty reports whether nothing was emitted in the open transaction.
func (p *txnProducer) empty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open) == 0 && len(p.cached) == 0
}

// changelogEnd returns the offset of the last changelog record of the
// transactions committed, or -1 if none had one: after a commit, that of
// the committed transaction's last changelog record, which the staged
// table stores with the writes it applies.
func (p *txnProducer) changelogEnd() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.committedOffset
}

// flusher is a producer that can send what it holds at once rather than
// after Producer.Flush.Frequency: sarama's, patched
// (third_party/sarama/txn-flush-at-commit.patch).
type flusher interface {
	SetFlushing(on bool)
}

// flushing, on, makes the producer send every message it holds, and every
// later one, at once, until it is called off: what a commit needs, since
// it waits for its messages, while between commits they wait out the
// linger to travel in fewer requests.
func (p *txnProducer) flushing(on bool) {
	if p.flusher != nil {
		p.flusher.SetFlushing(on)
	}
}

// retryCommit is how long commit tries a transaction again before it
// gives up and the group's processor is started again.
const retryCommit = time.Minute

// commit commits the transaction, with the input offset next of the
// group's partition of topic, and begins the next one. Every message
// emitted in it must have been delivered (or failed; flushing sends them
// at once), and it must not be empty: sarama drops the offsets of a
// transaction in which nothing was produced.
//
// If a message or the commit failed for a reason that is not fatal, the
// transaction is aborted, which also renumbers the producer's sequences as
// the brokers expect (sarama bumps the epoch), and its messages are sent
// again, in order, in a new transaction, which commits with the same
// offset: what the first attempt would have made visible, and nothing of
// the first attempt is. It gives up on a fatal error, after retryCommit,
// or when ctx is done (the partition is no longer this process's).
func (p *txnProducer) commit(ctx context.Context, group goka.Group, topic string, partition int32, next int64) error {
	p.txn.Lock()
	defer p.txn.Unlock()
	p.flushing(true)
	defer p.flushing(false)
	deadline := time.Now().Add(retryCommit)
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := p.commitOnce(group, topic, partition, next)
		if err == nil {
			return nil
		}
		if p.fatal(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		slog.Warn("transaction failed; aborting it and sending it again",
			"producer", p.id, "attempt", attempt, "error", err)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
		pause = min(2*pause, time.Second)
		if err := p.again(); err != nil && (p.fatal(err) || time.Now().After(deadline)) {
			return err
		}
	}
}

// commitOnce sends the cached changelog writes, commits the current
// attempt of the open transaction and begins the next transaction.
func (p *txnProducer) commitOnce(group goka.Group, topic string, partition int32, next int64) error {
	p.flush()
	p.mu.Lock()
	failed := p.failed
	p.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("send a message in the transaction of %s: %w", p.id, failed)
	}
	// The leader epoch is not known here: -1 says so to readers that
	// check it.
	offsets := map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: partition, Offset: next, LeaderEpoch: -1}}}
	if err := p.p.AddOffsetsToTxn(offsets, string(group)); err != nil {
		return fmt.Errorf("add the offset %d of %s/%d to the transaction of %s: %w", next, topic, partition, p.id, err)
	}
	if err := p.p.CommitTxn(); err != nil {
		return fmt.Errorf("commit the transaction of %s: %w", p.id, err)
	}
	p.mu.Lock()
	p.open = p.open[:0]
	p.committedOffset = max(p.committedOffset, p.attemptOffset)
	p.attemptOffset = -1
	p.mu.Unlock()
	if err := p.p.BeginTxn(); err != nil {
		return fmt.Errorf("begin a transaction of %s: %w", p.id, err)
	}
	return nil
}

// flush sends the cached changelog writes of the open transaction, which
// join its sent messages (a key's write is then in open once, so that an
// attempt sent again keeps each key's last value last), and waits until
// each is delivered or failed.
func (p *txnProducer) flush() {
	p.mu.Lock()
	cached := p.cached
	p.open = append(p.open, cached...)
	p.cached = nil
	clear(p.cachedKeys)
	p.mu.Unlock()
	p.sendAll(cached)
}

// sendAll sends msgs in order and waits until each is delivered or failed,
// recording the first failure and the offset of the changelog's records.
func (p *txnProducer) sendAll(msgs []message) {
	var sent sync.WaitGroup
	sent.Add(len(msgs))
	for _, m := range msgs {
		p.send(m, func(sm *sarama.ProducerMessage, err error) {
			defer sent.Done()
			if err != nil {
				p.fail(err)
				return
			}
			if m.topic == p.changelog {
				p.acked(sm.Offset)
			}
		})
	}
	sent.Wait()
}

// acked records the offset of a changelog record the broker has
// acknowledged.
func (p *txnProducer) acked(offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attemptOffset = max(p.attemptOffset, offset)
}

// again aborts the open transaction's attempt, begins a new one and sends
// its messages again, in order, waiting until each is delivered or
// failed.
func (p *txnProducer) again() error {
	if p.p.TxnStatus()&sarama.ProducerTxnFlagInTransaction != 0 || p.p.TxnStatus()&sarama.ProducerTxnFlagInError != 0 {
		if err := p.p.AbortTxn(); err != nil {
			return fmt.Errorf("abort the transaction of %s: %w", p.id, err)
		}
	}
	if err := p.p.BeginTxn(); err != nil {
		return fmt.Errorf("begin a transaction of %s: %w", p.id, err)
	}
	p.mu.Lock()
	p.failed = nil
	p.attemptOffset = -1
	open := p.open
	p.mu.Unlock()
	p.sendAll(open)
	return nil
}

// commitOffset commits the input offset next of the group's partition of
// topic outside a transaction, as the group's member in generation: for
// a transaction in which nothing was produced, whose offsets sarama would
// drop. The group coordinator refuses the commit of a member whose
// generation is over, so a process that has lost the partition cannot
// commit this way either.
func (p *txnProducer) commitOffset(group goka.Group, topic string, partition int32, next int64, generation int32, member string) error {
	coordinator, err := p.client.Coordinator(string(group))
	if err != nil {
		return fmt.Errorf("find the coordinator of group %s: %w", group, err)
	}
	req := &sarama.OffsetCommitRequest{Version: 6, ConsumerGroup: string(group), ConsumerGroupGeneration: generation, ConsumerID: member}
	req.AddBlockWithLeaderEpoch(topic, partition, next, -1, 0, "")
	resp, err := coordinator.CommitOffset(req)
	if err == nil {
		if kerr, ok := resp.Errors[topic][partition]; ok && kerr != sarama.ErrNoError {
			err = kerr
		}
	}
	if err != nil {
		return fmt.Errorf("commit the offset %d of %s/%d for group %s (nothing was produced since the last): %w", next, topic, partition, group, err)
	}
	return nil
}

// abortTimeout bounds the courtesy abort of Close: sarama's abort waits for
// every message in flight, which a broker gone away holds for long.
const abortTimeout = 5 * time.Second

// Close aborts the open transaction and closes the producer. goka closes
// a partition's producer once the partition has stopped
// (third_party/goka): what it emitted since the last commit is dropped
// with the transaction, and the partition's next owner processes those
// messages again from the committed offset. sarama's Close would leave the
// transaction open on the broker, holding back every read_committed
// reader of the partitions it wrote to; the abort frees them at once. If
// it fails (a fenced producer may not abort) or takes too long, the next
// owner's initialisation, or the transaction timeout, aborts the
// transaction all the same.
func (p *txnProducer) Close() error {
	p.txn.Lock()
	defer p.txn.Unlock()
	if p.p.TxnStatus()&sarama.ProducerTxnFlagInTransaction != 0 {
		aborted := make(chan struct{})
		go func() {
			_ = p.p.AbortTxn()
			close(aborted)
		}()
		select {
		case <-aborted:
		case <-time.After(abortTimeout):
		}
	}
	// Not Close, which would read the results that the goroutines of
	// startTxnProducer are reading.
	p.p.AsyncClose()
	p.wg.Wait()
	return p.client.Close()
}
