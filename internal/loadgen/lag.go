package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// offsets are a topic's offsets, one per partition.
type offsets map[int32]int64

// sum adds the offsets of every partition.
func (o offsets) sum() int64 {
	var n int64
	for _, v := range o {
		n += v
	}
	return n
}

// lagWatcher reads how far behind the processor groups are: for every
// (group, input) pair of the topology, the input's end offsets against the
// group's committed offsets, as the auditor does.
type lagWatcher struct {
	client sarama.Client
	admin  sarama.ClusterAdmin
}

func newLagWatcher(kc kafka.Config) (*lagWatcher, error) {
	sc := kc.Sarama()
	sc.ClientID = "loadgen-lag"
	client, err := sarama.NewClient(kc.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("lag: connect to Kafka at %v: %w", kc.Brokers, err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("lag: Kafka admin: %w", err)
	}
	return &lagWatcher{client: client, admin: admin}, nil
}

// close closes the client; closing the admin would close it twice.
func (w *lagWatcher) close() { w.client.Close() }

// ends returns the end offset of every partition of topic.
func (w *lagWatcher) ends(topic string) (offsets, error) {
	parts, err := w.client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	out := make(offsets, len(parts))
	for _, p := range parts {
		end, err := w.client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
		}
		out[p] = end
	}
	return out, nil
}

// lag returns the messages not yet committed, summed over every (group,
// input) pair, and the end offsets of every input topic read on the way.
// A group that has committed nothing lags by the whole input.
func (w *lagWatcher) lag() (int64, map[string]offsets, error) {
	var total int64
	ends := map[string]offsets{}
	for _, in := range topology.Inputs() {
		topic := string(in.Topic)
		end, ok := ends[topic]
		if !ok {
			var err error
			if end, err = w.ends(topic); err != nil {
				return 0, nil, err
			}
			ends[topic] = end
		}
		parts := make([]int32, 0, len(end))
		for p := range end {
			parts = append(parts, p)
		}
		committed, err := w.admin.ListConsumerGroupOffsets(string(in.Group), map[string][]int32{topic: parts})
		// A group that never joined does not exist yet: it committed nothing.
		if err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			return 0, nil, fmt.Errorf("offsets of group %s: %w", in.Group, err)
		}
		for p, e := range end {
			c := int64(-1)
			if committed != nil {
				if b := committed.GetBlock(topic, p); b != nil {
					c = b.Offset
				}
			}
			if c < 0 {
				total += e
			} else {
				total += e - c
			}
		}
	}
	return total, ends, nil
}

// waitDrained polls every poll until no group lags and done (if not nil)
// says the inputs' end offsets show all the work written, or until failed
// is closed with an error, ctx is done or timeout passes. It returns when
// the groups' committed offsets first moved (zero if never).
func (w *lagWatcher) waitDrained(ctx context.Context, timeout, poll time.Duration, done func(map[string]offsets) bool, failed <-chan error) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var first time.Time
	prev := int64(-1)
	for {
		lag, ends, err := w.lag()
		if err != nil {
			return first, err
		}
		if first.IsZero() && prev >= 0 && lag < prev {
			first = time.Now()
		}
		prev = lag
		if lag == 0 && (done == nil || done(ends)) {
			return first, nil
		}
		if time.Now().After(deadline) {
			return first, fmt.Errorf("the processors still lag by %d messages after %s", lag, timeout)
		}
		select {
		case <-ctx.Done():
			return first, ctx.Err()
		case err := <-failed:
			return first, fmt.Errorf("the processors stopped: %w", err)
		case <-time.After(poll):
		}
	}
}

// scan reads topic's records at offsets [from, to) of every partition
// in to that are still there (a compacted table may have dropped some),
// and calls fn for each.
func scan(ctx context.Context, brokers []string, topic string, from, to offsets, fn func(*kgo.Record)) error {
	start := map[int32]kgo.Offset{}
	for p, end := range to {
		if end > from[p] {
			start[p] = kgo.NewOffset().At(from[p])
		}
	}
	if len(start) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}))
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// The last offset of a partition is never compacted away: it is the
	// newest record of its key.
	for left := len(start); left > 0; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %s: %d partitions not read to the end: %w", topic, left, ctx.Err())
		}
		if err := fetches.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end := to[r.Partition]
			if r.Offset >= end {
				return
			}
			fn(r)
			if r.Offset == end-1 {
				left--
			}
		})
	}
	return nil
}
