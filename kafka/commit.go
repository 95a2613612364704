package kafka

import (
	"context"
	"sync"

	"github.com/IBM/sarama"
)

// inOrderCommits wraps a consumer group so that a partition's committed
// offset never passes a message whose processing has not finished.
//
// goka marks each input message as consumed once its own emits are
// acknowledged, and sarama keeps the highest mark. If the emits of message
// N fail while those of N+1 succeed (the idempotent producer can fail one
// batch and send the next, as it did after a broker restart in the chaos
// runs), the commit passes N and N is never redelivered: its payments are
// lost. Here a mark only advances the commit over the contiguous run of
// finished messages, so N and everything after it are redelivered, and the
// processors' dedupe and re-emission make that safe.
type inOrderCommits struct {
	sarama.ConsumerGroup
	acked *Acked
}

func (g inOrderCommits) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &inOrderHandler{inner: h, acked: g.acked})
}

// Acked records, for each input partition of the processors of this
// process, an offset below which every message is finished: processed,
// with every output and table write acknowledged by Kafka. A message below
// it, delivered again, needs nothing emitted again: what it emitted is in
// Kafka. The accountant drops the decisions it keeps for re-emission once
// they fall below it, which keeps its table values small.
//
// The offset only ever errs low: it starts, in each consumer-group
// session, at the first offset delivered (the committed offset, below
// which the previous owner finished everything), and moves with the
// in-order commits.
type Acked struct {
	mu      sync.Mutex
	offsets map[topicPartition]int64
}

// NewAcked returns an empty Acked.
func NewAcked() *Acked { return &Acked{offsets: map[topicPartition]int64{}} }

// Offset returns the acknowledged offset of a partition of topic; 0 when
// nothing is known.
func (a *Acked) Offset(topic string, partition int32) int64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.offsets[topicPartition{topic, partition}]
}

func (a *Acked) set(topic string, partition int32, offset int64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offsets[topicPartition{topic, partition}] = offset
}

// inOrderHandler hands goka a session whose marks go through the
// in-order bookkeeping, and claims whose messages are recorded on the way.
type inOrderHandler struct {
	inner   sarama.ConsumerGroupHandler
	acked   *Acked
	session *inOrderSession
}

func (h *inOrderHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.session = &inOrderSession{ConsumerGroupSession: s, parts: map[topicPartition]*pending{}, acked: h.acked}
	return h.inner.Setup(h.session)
}

func (h *inOrderHandler) Cleanup(sarama.ConsumerGroupSession) error {
	return h.inner.Cleanup(h.session)
}

func (h *inOrderHandler) ConsumeClaim(_ sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	out := make(chan *sarama.ConsumerMessage)
	done := h.session.Context().Done()
	go func() {
		defer close(out)
		for msg := range claim.Messages() {
			h.session.delivered(msg.Topic, msg.Partition, msg.Offset)
			select {
			case out <- msg:
			case <-done:
				return
			}
		}
	}()
	return h.inner.ConsumeClaim(h.session, recordedClaim{ConsumerGroupClaim: claim, messages: out})
}

type recordedClaim struct {
	sarama.ConsumerGroupClaim
	messages chan *sarama.ConsumerMessage
}

func (c recordedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.messages }

type topicPartition struct {
	topic     string
	partition int32
}

// pending is one partition's messages handed to goka and not yet
// committable, in offset order, and which of them are finished.
type pending struct {
	offsets  []int64
	finished map[int64]bool
}

type inOrderSession struct {
	sarama.ConsumerGroupSession
	acked *Acked
	mu    sync.Mutex
	parts map[topicPartition]*pending
}

func (s *inOrderSession) part(topic string, partition int32) *pending {
	tp := topicPartition{topic, partition}
	p := s.parts[tp]
	if p == nil {
		p = &pending{finished: map[int64]bool{}}
		s.parts[tp] = p
	}
	return p
}

func (s *inOrderSession) delivered(topic string, partition int32, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := topicPartition{topic, partition}
	if _, ok := s.parts[tp]; !ok {
		// The session's first message of the partition is at the
		// committed offset: everything below it was finished.
		s.acked.set(topic, partition, offset)
	}
	p := s.part(topic, partition)
	p.offsets = append(p.offsets, offset)
}

// MarkOffset records that the message before offset is finished and
// commits up to the first message that is not.
func (s *inOrderSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.part(topic, partition)
	p.finished[offset-1] = true
	n := 0
	for n < len(p.offsets) && p.finished[p.offsets[n]] {
		delete(p.finished, p.offsets[n])
		n++
	}
	if n == 0 {
		return
	}
	next := p.offsets[n-1] + 1
	p.offsets = p.offsets[n:]
	s.ConsumerGroupSession.MarkOffset(topic, partition, next, metadata)
	s.acked.set(topic, partition, next)
}

func (s *inOrderSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}
