package kafka

import (
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// TransactionTimeout is how long the broker lets a transaction stay open
// before it aborts it, as Kafka Streams sets it under exactly_once: a
// transaction left open by a process that died or is paused, and whose
// partition no other process has taken over yet, holds back every
// read_committed reader of the partitions it wrote to until then.
const TransactionTimeout = 10 * time.Second

// txnProducer is the transactional producer of one input partition of a
// group, as goka uses a producer (emits resolve promises), and the
// transaction's commit and abort. Its transactional ID names the group
// and the partition: creating it fences the partition's previous owner.
type txnProducer struct {
	id     string
	client sarama.Client
	p      sarama.AsyncProducer
	wg     sync.WaitGroup
	// emitted counts the messages emitted in the open transaction.
	emitted atomic.Int64
}

// transactionalID returns the transactional ID of a group's producer for
// an input partition: "accountant-3".
func transactionalID(group goka.Group, partition int32) string {
	return fmt.Sprintf("%s%d", TransactionalIDPrefix(group), partition)
}

// TransactionalIDPrefix is what the transactional IDs of a group's
// producers begin with: the group's name and a dash. The processors'
// principal may use every one (ACLs).
func TransactionalIDPrefix(group goka.Group) string { return string(group) + "-" }

// initRetries is how long newTxnProducer keeps trying while the broker
// answers that the previous owner's transaction is still being completed.
const initRetries = 30 * time.Second

// newTxnProducer initialises the transactional producer of a group's
// input partition, which fences the previous producer of the same ID:
// the broker aborts its open transaction and refuses its writes and
// commits from then on. Then it begins a transaction.
//
// While the broker completes the previous owner's transaction (it aborts
// an open one first), it answers CONCURRENT_TRANSACTIONS, which sarama
// takes for fatal: the initialisation is tried again, with a new client
// each time (sarama does not close the one of a failed producer).
func newTxnProducer(c Config, group goka.Group, partition int32, hasher func() hash.Hash32) (*txnProducer, error) {
	id := transactionalID(group, partition)
	s := c.Sarama()
	s.ClientID = id
	s.Producer.Transaction.ID = id
	s.Producer.Transaction.Timeout = TransactionTimeout
	s.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
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
			return startTxnProducer(id, client, ap), nil
		}
		client.Close()
		if !errors.Is(err, sarama.ErrConcurrentTransactions) || time.Now().After(deadline) {
			return nil, fmt.Errorf("initialise the transactional producer %s: %w", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startTxnProducer resolves the promises of what ap produces.
func startTxnProducer(id string, client sarama.Client, ap sarama.AsyncProducer) *txnProducer {
	p := &txnProducer{id: id, client: client, p: ap}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for m := range ap.Successes() {
			m.Metadata.(goka.PromiseFinisher)(m, nil)
		}
	}()
	go func() {
		defer p.wg.Done()
		for e := range ap.Errors() {
			e.Msg.Metadata.(goka.PromiseFinisher)(nil, e.Err)
		}
	}()
	return p
}

func (p *txnProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *txnProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	p.emitted.Add(1)
	p.p.Input() <- &sarama.ProducerMessage{
		Topic:    topic,
		Key:      sarama.StringEncoder(key),
		Value:    sarama.ByteEncoder(value),
		Headers:  headers.ToSarama(),
		Metadata: finish,
	}
	return promise
}

// empty reports whether nothing was emitted in the open transaction.
func (p *txnProducer) empty() bool { return p.emitted.Load() == 0 }

// commit commits the transaction, with the input offset next of the
// group's partition of topic, and begins the next one. Every message
// emitted in it must have been acknowledged, and it must not be empty:
// sarama drops the offsets of a transaction in which nothing was
// produced.
func (p *txnProducer) commit(group goka.Group, topic string, partition int32, next int64) error {
	// The leader epoch is not known here: -1 says so to readers that
	// check it.
	offsets := map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: partition, Offset: next, LeaderEpoch: -1}}}
	if err := p.p.AddOffsetsToTxn(offsets, string(group)); err != nil {
		return fmt.Errorf("add the offset %d of %s/%d to the transaction of %s: %w", next, topic, partition, p.id, err)
	}
	if err := p.p.CommitTxn(); err != nil {
		return fmt.Errorf("commit the transaction of %s: %w", p.id, err)
	}
	p.emitted.Store(0)
	if err := p.p.BeginTxn(); err != nil {
		return fmt.Errorf("begin a transaction of %s: %w", p.id, err)
	}
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
