package kafka

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wallet/wallet/topology"
)

// A message of a transaction that a broker refuses for a reason that is
// not fatal is sent again in a new transaction, and the transaction
// commits with its messages once each and in order, without failing a
// promise: before, the promise failed, goka stopped the partition and the
// group was started again (docs/LEADERS.md, causes 3 and 4: an epoch bump
// answered OUT_OF_ORDER_SEQUENCE_NUMBER).
func TestTransactionIsSentAgainAfterAnAbortableError(t *testing.T) {
	const topic = "out"
	cluster, c := oneBroker(t, topic, "in")

	p, err := newTxnProducer(c, "g", 0, topology.Hasher, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	var want []string
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			v := fmt.Sprintf("m%02d", i)
			want = append(want, v)
			done := make(chan error, 1)
			p.Emit(topic, "k", []byte(v)).Then(func(err error) { done <- err })
			if err := <-done; err != nil {
				t.Fatalf("emit %s: %v", v, err)
			}
		}
	}
	emit(0, 3)
	if err := p.commit(context.Background(), "g", "in", 0, 3); err != nil {
		t.Fatal(err)
	}
	// The next produce, and only it, is refused as the brokers refused
	// them after a leader moved: the broker has seen the producer's
	// sequence, so the messages sent again must start a new epoch.
	refused := refuseNextProduce(cluster)

	emit(3, 10)
	if !refused.Load() {
		t.Fatal("no produce was refused")
	}
	if err := p.commit(context.Background(), "g", "in", 0, 10); err != nil {
		t.Fatalf("commit after a refused produce: %v", err)
	}

	got := readCommitted(t, c, topic, len(want))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read_committed got %v, want %v", got, want)
	}
}

// refuseNextProduce makes the cluster answer the next produce request,
// and only it, OUT_OF_ORDER_SEQUENCE_NUMBER for every partition, as the
// brokers did after a leader moved; the flag says when it has.
func refuseNextProduce(cluster *kfake.Cluster) *atomic.Bool {
	var refused atomic.Bool
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if refused.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerrOutOfOrderSequence
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		refused.Store(true)
		return resp, nil, true
	})
	return &refused
}

// kerrOutOfOrderSequence is OUT_OF_ORDER_SEQUENCE_NUMBER.
const kerrOutOfOrderSequence = 45

// readCommitted returns the values of topic's committed records once it
// has read n, and whatever else comes within a second after.
func readCommitted(t *testing.T, c Config, topic string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := c.KgoClient(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	for len(got) < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %v (got %v)", topic, err, got)
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	return got
}

// The writes to the group's own changelog wait in the producer until the
// commit: a key written several times in a transaction reaches the
// changelog once, with its last value (a tombstone included), and the
// promises resolve at once. A transaction sent again after an abortable
// error sends each key once too, and one that is aborted drops them.
func TestChangelogWritesAreCachedUntilTheCommit(t *testing.T) {
	const changelog = "g-table"
	cluster, c := oneBroker(t, changelog, "in", "out")

	p, err := newTxnProducer(c, "g", 0, topology.Hasher, 0)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			p.Close()
		}
	}()
	emit := func(topic, key string, value []byte) {
		t.Helper()
		done := make(chan error, 1)
		p.Emit(topic, key, value).Then(func(err error) { done <- err })
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("emit %s %s=%s: %v", topic, key, value, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("emit %s %s=%s: no result", topic, key, value)
		}
	}

	for i := range 5 {
		emit(changelog, "k", fmt.Appendf(nil, "k%d", i))
	}
	emit(changelog, "j", []byte("j0"))
	emit(changelog, "d", []byte("d0"))
	emit(changelog, "d", nil) // goka's Delete
	emit("out", "k", []byte("out0"))
	if p.changelogEnd() != -1 {
		t.Errorf("changelog offset %d before the commit, want none (-1)", p.changelogEnd())
	}
	if err := p.commit(context.Background(), "g", "in", 0, 1); err != nil {
		t.Fatal(err)
	}
	got := readCommitted(t, c, changelog, 3)
	slices.Sort(got)
	if want := []string{"", "j0", "k4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changelog read_committed got %q, want %q", got, want)
	}
	if got := readCommitted(t, c, "out", 1); fmt.Sprint(got) != "[out0]" {
		t.Errorf("out read_committed got %q, want [out0]", got)
	}
	if p.changelogEnd() < 0 {
		t.Errorf("changelog offset %d after the commit, want that of its last record", p.changelogEnd())
	}

	// The commit's first produce is refused, as after a leader moved: the
	// transaction is aborted and sent again with each key once.
	refused := refuseNextProduce(cluster)
	emit(changelog, "k", []byte("k5"))
	emit(changelog, "k", []byte("k6"))
	if refused.Load() {
		t.Fatal("a changelog write was sent before the commit")
	}
	if err := p.commit(context.Background(), "g", "in", 0, 2); err != nil {
		t.Fatalf("commit after a refused produce: %v", err)
	}
	if !refused.Load() {
		t.Fatal("no produce was refused")
	}
	got = readCommitted(t, c, changelog, 4)
	slices.Sort(got)
	if want := []string{"", "j0", "k4", "k6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changelog read_committed got %q, want %q", got, want)
	}

	// Closed before its commit: the transaction's writes are dropped.
	emit(changelog, "k", []byte("k7"))
	emit("out", "k", []byte("out1"))
	closed = true
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	next, err := newTxnProducer(c, "g", 0, topology.Hasher, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	got = readCommitted(t, c, changelog, 4)
	slices.Sort(got)
	if want := []string{"", "j0", "k4", "k6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changelog read_committed after an abort got %q, want %q", got, want)
	}
}

// A transactional producer retries its transaction's requests from 20 ms:
// Apache Kafka answers the first request after a commit
// CONCURRENT_TRANSACTIONS for a few milliseconds, and at sarama's 100 ms
// nearly half the transactions stalled for 100 ms (docs/BENCHMARKS.md).
// The retries still outlast an election.
func TestTransactionRetriesStartAt20ms(t *testing.T) {
	max, backoff := retryFrom(concurrentTxnBackoff, retryWindow)
	var total time.Duration
	for i := range max {
		total += backoff(i, max)
	}
	if first, last := backoff(0, max), backoff(max-1, max); first != 20*time.Millisecond || last != time.Second {
		t.Errorf("pauses from %v to %v, want 20ms to 1s", first, last)
	}
	if total < retryWindow || total > retryWindow+time.Second {
		t.Errorf("%d retries last %v, want %v", max, total, retryWindow)
	}
}

// oneBroker starts a one-broker kfake cluster holding topics, of two
// partitions each, until the test ends, and returns it with a Config of it.
func oneBroker(t *testing.T, topics ...string) (*kfake.Cluster, Config) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return cluster, Config{Brokers: cluster.ListenAddrs(), Partitions: 2}
}

// A transaction's messages wait for the linger, to travel in fewer
// produce requests, but a commit does not wait it out: it sends them at
// once (third_party/sarama/txn-flush-at-commit.patch). The linger here is
// an hour, so without the flush the commit would never end.
func TestCommitSendsWhatLingers(t *testing.T) {
	const topic = "out"
	cluster, c := oneBroker(t, topic, "in")
	var produces atomic.Int32
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		produces.Add(1)
		return nil, nil, false
	})

	p, err := newTxnProducer(c, "g", 0, topology.Hasher, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	var want []string
	for i := range 20 {
		v := fmt.Sprintf("m%02d", i)
		want = append(want, v)
		p.Emit(topic, "k", []byte(v))
		time.Sleep(2 * time.Millisecond)
	}
	if n := produces.Load(); n != 0 {
		t.Errorf("%d produce requests before the commit, want 0: the messages wait for the linger", n)
	}
	committed := make(chan error, 1)
	go func() { committed <- p.commit(context.Background(), "g", "in", 0, 20) }()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the commit did not end: it waits out the linger")
	}
	if n := produces.Load(); n < 1 || n > 2 {
		t.Errorf("%d produce requests for 20 messages, want 1 or 2", n)
	}
	if got := readCommitted(t, c, topic, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read_committed got %v, want %v", got, want)
	}
}

// While a produce request is out, and the broker has room for no other
// (Net.MaxOpenRequests is 1 for the idempotent producer), the messages
// that come wait, and all of them go in the next request, whatever their
// partition (third_party/sarama/wait-to-build-batch.patch). Unpatched,
// sarama built a batch of the first message for the other partition at
// once, which waited for the request out while the rest waited for it,
// and then sent one partition a request: four requests, {0:1} {1:1}
// {0:10} {1:9}, and most messages waited for two.
func TestMessagesWaitingForARequestGoInTheNext(t *testing.T) {
	const topic = "out"
	cluster, c := oneBroker(t, topic)
	release := make(chan struct{})
	var requests []map[int32]int // records per partition, per produce request
	var mu sync.Mutex
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		records := map[int32]int{}
		for _, tp := range req.(*kmsg.ProduceRequest).Topics {
			for _, p := range tp.Partitions {
				var batch kmsg.RecordBatch
				if err := batch.ReadFrom(p.Records); err != nil {
					t.Errorf("read a record batch: %v", err)
				}
				records[p.Partition] += int(batch.NumRecords)
			}
		}
		mu.Lock()
		requests = append(requests, records)
		first := len(requests) == 1
		mu.Unlock()
		if first {
			cluster.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})

	cfg := c.Sarama()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewAsyncProducer(c.Brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(partition int32) {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Partition: partition, Value: sarama.StringEncoder("v")}
	}
	send(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(requests)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first message was not sent")
		}
		time.Sleep(time.Millisecond)
	}
	for range 10 {
		send(1)
		send(0)
	}
	// The producer takes them in through goroutines of its own; nothing
	// tells when they reach the broker producer, so give it ample time.
	time.Sleep(500 * time.Millisecond)
	close(release)
	for range 21 {
		select {
		case <-p.Successes():
		case err := <-p.Errors():
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatal("not every message was acknowledged")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []map[int32]int{{0: 1}, {0: 10, 1: 10}}
	if fmt.Sprint(requests) != fmt.Sprint(want) {
		t.Errorf("records per partition of each produce request: got %v, want %v", requests, want)
	}
}
