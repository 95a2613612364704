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
}

func (g inOrderCommits) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &inOrderHandler{inner: h})
}

// inOrderHandler hands goka a session whose marks go through the
// in-order bookkeeping, and claims whose messages are recorded on the way.
type inOrderHandler struct {
	inner   sarama.ConsumerGroupHandler
	session *inOrderSession
}

func (h *inOrderHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.session = &inOrderSession{ConsumerGroupSession: s, parts: map[topicPartition]*pending{}}
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
}

func (s *inOrderSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}
