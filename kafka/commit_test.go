package kafka

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

type markRecorder struct {
	sarama.ConsumerGroupSession
	marks []int64
}

func (m *markRecorder) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	m.marks = append(m.marks, offset)
}

// Regression: a message whose emits failed was skipped by the commit of a
// later message that succeeded.
func TestInOrderCommits(t *testing.T) {
	rec := &markRecorder{}
	s := &inOrderSession{ConsumerGroupSession: rec, parts: map[topicPartition]*pending{}}
	for _, off := range []int64{10, 11, 12, 13, 15} { // 14 is a gap in the log
		s.delivered("t", 0, off)
	}
	s.MarkOffset("t", 0, 12, "") // 11 finished before 10
	if len(rec.marks) != 0 {
		t.Fatalf("committed %v while message 10 was unfinished", rec.marks)
	}
	s.MarkOffset("t", 0, 11, "") // 10 finished
	s.MarkOffset("t", 0, 14, "") // 13 finished before 12
	s.MarkOffset("t", 0, 13, "") // 12 finished
	s.MarkOffset("t", 0, 16, "") // 15 finished, across the gap
	if want := []int64{12, 14, 16}; !slices.Equal(rec.marks, want) {
		t.Errorf("commits = %v, want %v", rec.marks, want)
	}

	// Message 20 fails (never marked); 21 succeeds: the commit stays at 20.
	s.delivered("t", 0, 20)
	s.delivered("t", 0, 21)
	s.MarkOffset("t", 0, 22, "")
	if last := rec.marks[len(rec.marks)-1]; last != 16 {
		t.Errorf("committed %d past the failed message 20", last)
	}
}

// Acked starts at the session's first offset (the committed one) and
// follows the in-order commits, never passing an unfinished message.
func TestAcked(t *testing.T) {
	acked := NewAcked()
	s := &inOrderSession{ConsumerGroupSession: &markRecorder{}, parts: map[topicPartition]*pending{}, acked: acked}
	if got := acked.Offset("t", 0); got != 0 {
		t.Fatalf("before any message: %d, want 0", got)
	}
	for _, off := range []int64{40, 41, 42} {
		s.delivered("t", 0, off)
	}
	if got := acked.Offset("t", 0); got != 40 {
		t.Errorf("after the first delivery: %d, want 40, the committed offset", got)
	}
	s.MarkOffset("t", 0, 42, "") // 41 finished, 40 not
	if got := acked.Offset("t", 0); got != 40 {
		t.Errorf("with 40 unfinished: %d, want 40", got)
	}
	s.MarkOffset("t", 0, 41, "")
	if got := acked.Offset("t", 0); got != 42 {
		t.Errorf("with 40 and 41 finished: %d, want 42", got)
	}
	if got := acked.Offset("t", 1); got != 0 {
		t.Errorf("another partition: %d, want 0", got)
	}
	var none *Acked
	if none.Offset("t", 0) != 0 {
		t.Error("a nil Acked knows an offset")
	}
}
