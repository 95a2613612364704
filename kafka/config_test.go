package kafka_test

import (
	"testing"
	"time"

	"github.com/wallet/wallet/kafka"
)

func TestParseBrokers(t *testing.T) {
	got := kafka.ParseBrokers(" a:1, b:2 ,,")
	if len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("ParseBrokers = %q", got)
	}
}

// A message and a transaction's requests are retried for longer than Kafka
// takes to elect leaders after a broker dies (about 9 s), with pauses
// from 100 ms to 1 s.
func TestRetriesOutlastAnElection(t *testing.T) {
	s := kafka.Config{}.Sarama()
	for _, tt := range []struct {
		name    string
		max     int
		backoff func(int, int) time.Duration
	}{
		{"Producer.Retry", s.Producer.Retry.Max, s.Producer.Retry.BackoffFunc},
		{"Producer.Transaction.Retry", s.Producer.Transaction.Retry.Max, s.Producer.Transaction.Retry.BackoffFunc},
	} {
		var total time.Duration
		for i := range tt.max {
			total += tt.backoff(i, tt.max)
		}
		if total < 30*time.Second || total > 31*time.Second {
			t.Errorf("%s: %d retries last %v, want 30 s", tt.name, tt.max, total)
		}
		if first, last := tt.backoff(0, tt.max), tt.backoff(tt.max-1, tt.max); first != 100*time.Millisecond || last != time.Second {
			t.Errorf("%s: pauses from %v to %v, want 100ms to 1s", tt.name, first, last)
		}
	}
}
