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
