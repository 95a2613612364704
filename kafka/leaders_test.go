package kafka

// Regression tests for sarama's faults around a leader move (docs/LEADERS.md,
// "Causes" 1-3, and step 2 of its plan), run on kfake with three brokers
// rather than on a real cluster: kfake's faults answer Produce with an
// error for as long as a test says (Cluster.Fault), its controls close the
// connections of one broker (Cluster.Control), and Cluster.MoveTopicPartition
// moves a partition's leader while batches are in flight. kfake keeps one
// producer state per partition for the whole cluster and checks sequence
// numbers as Kafka does, so a batch that arrives out of order at the new
// leader is refused with OUT_OF_ORDER_SEQUENCE_NUMBER, as on a real cluster.
//
// The producers are built as the wallet builds them: newTxnProducer (the
// processors' transactional producer per input partition) and
// Config.EmitterOptions (the API's emitter, idempotent, outside
// transactions), with the settings of Config.Sarama. The wallet's
// transactional producer sends an open transaction again after a failure
// (plan step 4), so that a fault of sarama's no longer loses records: the
// transactional tests also fail if the broker saw the transaction aborted
// (observeAborts), or if sarama logged a sequence error.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wallet/wallet/topology"
)

// TestTxnProducerRidesOutRefusedProduce: docs/LEADERS.md, cause 1 ("Retried
// batches get no backoff, so 10 retries last 0.1 s"), IBM/sarama#2469, fixed
// by IBM/sarama#3557 in v1.49.0. While the partitions' leader answers
// Produce with a retriable error for 500 ms (as a broker does for a moment
// during a leader move: the new leader not yet leader, or its in-sync
// replicas shrunk), the transactional producer must retry its batches until
// the broker takes them, and its transaction must commit with every record
// once, in order, at its first attempt. On sarama v1.46.3 the idempotent
// producer retries a refused batch with no pause, so its retries (10, or
// the 30 s worth of plan step 3) are spent in a few milliseconds: Produce
// is refused 80-200 times in the 500 ms instead of about 6, a message
// fails and the transaction can only be aborted (its other messages then
// stay in retries, failing with the transaction's error).
func TestTxnProducerRidesOutRefusedProduce(t *testing.T) {
	for _, refusal := range []*kerr.Error{kerr.NotLeaderForPartition, kerr.NotEnoughReplicas} {
		t.Run(refusal.Message, func(t *testing.T) {
			const (
				topic      = "leaders.refused"
				partitions = 3
				before     = 20 // records per partition before the refusal
				during     = 40 // records per partition emitted while refused
				refusedFor = 500 * time.Millisecond
			)
			logs := captureSaramaLog(t)
			cl, c := leaderCluster(t, topic, partitions)
			aborts := observeAborts(t, cl)
			p := startTxnProducerForTest(t, c, 0)
			w := newWriter(t, topic, partitions, p.Emit)

			for range before {
				w.emitRound()
			}
			if !w.wait(10 * time.Second) {
				t.Fatalf("the first %d records were not acknowledged in 10 s, before any refusal", w.total())
			}
			if errs := w.errors(); len(errs) > 0 {
				t.Fatalf("before any refusal: %s", w.summary())
			}

			// Every partition's leader refuses Produce for refusedFor.
			fault := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: refusal, Count: -1})
			w.mark()
			logs.mark()
			go func() {
				time.Sleep(refusedFor)
				fault.Remove()
			}()
			for range during {
				w.emitRound()
			}
			answered := w.wait(5 * time.Second)
			fault.Remove()
			t.Logf("Produce refused with %s %d times in %v", refusal.Message, fault.Hits(), refusedFor)
			if fault.Hits() == 0 {
				t.Fatalf("the fault answered no Produce: the test tested nothing")
			}
			// With a pause of 100 ms or more between retries, each
			// partition's batch is refused a handful of times.
			if n := fault.Hits(); n > 40 {
				t.Errorf("Produce was refused %d times in %v: the producer retries its batches with no pause", n, refusedFor)
			}
			if !answered {
				t.Fatalf("%d records emitted while Produce was refused (%s) were not answered 5 s later; sarama logged %s",
					w.pending(), refusal.Message, logs.reasons())
			}
			if len(w.errors()) > 0 {
				t.Errorf("records failed while Produce was refused with %s for %v: %s", refusal.Message, refusedFor, w.summary())
			}
			commitFirstTime(t, p, topic, aborts)
			checkDelivered(t, c, topic, w)
		})
	}
}

// TestTxnProducerRidesOutLeaderMoves: docs/LEADERS.md, cause 2 ("A retried
// batch can overtake or be overtaken: out-of-order sequences"), the race
// IBM/sarama#1203 left, fixed by partition muting, IBM/sarama#3422 in
// v1.48.0 (and IBM/sarama#3645, #3692 after it). A transactional producer
// writes records to six partitions while their leaders move between the
// three brokers again and again, as in a preferred leader election: every
// batch in flight to the old leader (a Produce takes 5 ms, so sarama has one
// request in flight and one pipelined behind it) is refused
// NOT_LEADER_OR_FOLLOWER and retried at the new one, which refuses it for
// 100 ms more (not leader yet), while the partition's later records go
// there too. No OUT_OF_ORDER_SEQUENCE_NUMBER (or any other error) may come
// of it, the transaction must commit at its first attempt, and a
// read_committed reader must see every record once and in order in each
// partition. On v1.46.3 the retried batches of a partition race each other
// to the new leader: OUT_OF_ORDER_SEQUENCE_NUMBER, or "assertion failed:
// message out of sequence added to a batch", within the first move.
func TestTxnProducerRidesOutLeaderMoves(t *testing.T) {
	const (
		topic      = "leaders.moves"
		partitions = 6
		moves      = 8
		moveEvery  = 250 * time.Millisecond
		// How long a broker takes to answer Produce.
		produceLatency = 5 * time.Millisecond
		// How long a partition's new leader refuses it after a move,
		// not leader yet in its own eyes.
		notYet = 100 * time.Millisecond
	)
	logs := captureSaramaLog(t)
	cl, c := leaderCluster(t, topic, partitions)
	aborts := observeAborts(t, cl)
	// Every Produce takes produceLatency to be answered, as it does on a
	// cluster where the followers must have the records first (acks=all):
	// the producer has a request in flight and another one sent behind it
	// (sarama pipelines them) when a leader moves.
	cl.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		cl.SleepControl(func() { time.Sleep(produceLatency) })
		return nil, nil, false
	})
	p := startTxnProducerForTest(t, c, 0)
	w := newWriter(t, topic, partitions, p.Emit)

	// A record in every partition first: the partitions are in the
	// transaction and the producer knows their leaders.
	w.emitRound()
	if !w.wait(10*time.Second) || len(w.errors()) > 0 {
		t.Fatalf("before any move: %s", w.summary())
	}
	w.mark()
	logs.mark()

	// Every moveEvery, every partition gets a leader other than its
	// current one, while the writer keeps batches in flight to them all.
	// The old leader answers NOT_LEADER_OR_FOLLOWER and names the new
	// one, which refuses the partition the same way for notYet, as
	// Kafka's brokers do while the controller's word reaches them one
	// after the other.
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	moved := make(chan error, 1)
	go func() {
		for range moves {
			time.Sleep(moveEvery - notYet)
			to := map[int32][]int32{}
			for part := range int32(partitions) {
				leader := cl.LeaderFor(topic, part)
				node := (leader + 1 + rng.Int31n(2)) % 3
				to[node] = append(to[node], part)
			}
			var refusals []kfake.Fault
			for node, parts := range to {
				refusals = append(refusals, kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Nodes: []int32{node}, Topic: topic, Partitions: parts,
					Err: kerr.NotLeaderForPartition, Count: -1})
			}
			refusal := cl.Fault(refusals...)
			for node, parts := range to {
				for _, part := range parts {
					if err := cl.MoveTopicPartition(topic, part, node); err != nil {
						moved <- err
						return
					}
				}
			}
			time.Sleep(notYet)
			refusal.Remove()
		}
		moved <- nil
	}()
	for done := false; !done; {
		select {
		case err := <-moved:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
			w.emitRound()
			time.Sleep(time.Millisecond)
		}
	}
	// A few more records after the last move, behind the retried ones.
	for range 10 {
		w.emitRound()
	}
	answered := w.wait(5 * time.Second)
	if n := logs.count("out of order sequence") + logs.count("message out of sequence"); n > 0 {
		t.Errorf("sarama logged %d sequence errors: %s", n, logs.reasons())
	}
	if !answered {
		t.Fatalf("%d records not answered 5 s after the last move (%s); sarama logged %s", w.pending(), w.summary(), logs.reasons())
	}
	t.Logf("%d records in %d partitions, %d moves of every partition, %d batches retried",
		w.total(), partitions, moves, logs.count("Retrying batch"))
	if n := logs.count("Retrying batch"); n == 0 {
		t.Errorf("no batch was retried: the moves met no batch in flight, and the test tested nothing")
	}
	if len(w.errors()) > 0 {
		t.Errorf("records failed while the leaders moved: %s", w.summary())
	}
	commitFirstTime(t, p, topic, aborts)
	checkDelivered(t, c, topic, w)
}

// TestEmitterRidesOutRefusingLeader: docs/LEADERS.md, cause 3 ("The emitter
// gives up before Kafka has elected, and that resets every sequence"), plan
// step 3 (producer retries that outlast an election); upstream, sarama's
// epoch bump renumbers every partition (Java's fix is KAFKA-12152, not made
// in sarama v1.61.1), and its idempotent retries had no backoff until
// v1.49.0 (IBM/sarama#2469, cause 1). The emitter's producer, idempotent
// outside transactions, built as Config.EmitterOptions builds it, writes to
// three partitions, each led by a broker of its own. The leader of partition
// 0 refuses it for 5 s, then the partition moves to another broker, as Kafka
// elects another leader:
//
//   - "connections": the broker closes every connection at its first
//     request, as a killed broker, still named leader until Kafka fences it
//     (about 9 s), does;
//   - "NOT_LEADER_OR_FOLLOWER": the broker answers partition 0's Produce
//     with it, as a broker does while it and the metadata disagree.
//
// Every message the emitter took must be delivered once and in order, none
// failed, and the other two partitions must keep acknowledging within
// othersWithin meanwhile.
//
// With Producer.Retry at 10 x 250 ms (before plan step 3), a message is
// given up after about 2.5 s, and both fail ("EOF", NOT_LEADER_OR_FOLLOWER:
// the messages of partition 0 emitted in the first 2.5 s are lost). On
// sarama v1.46.3, with 30 s of retries, "connections" passes (a broken
// connection is retried by the partition producer, with its backoff) and
// "NOT_LEADER_OR_FOLLOWER" fails after about 0.25 s (its 34 retries with no
// pause, of a 5 ms Produce each: cause 1), then with
// OUT_OF_ORDER_SEQUENCE_NUMBER and "message out of sequence" (cause 3).
func TestEmitterRidesOutRefusingLeader(t *testing.T) {
	const (
		topic      = "leaders.emitter"
		partitions = 3
		victim     = int32(2) // the broker that refuses: partition 0's leader
		refusedFor = 5 * time.Second
	)
	for _, tt := range []struct {
		name string
		// refuse makes victim refuse partition 0 until the returned
		// func is called, which says how many requests were refused.
		refuse func(cl *kfake.Cluster) (end func() int)
	}{
		{"connections", func(cl *kfake.Cluster) func() int {
			var refusing atomic.Bool
			var refused atomic.Int64
			errRefused := errors.New("leaders_test: broker refusing connections")
			cl.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
				if !refusing.Load() || cl.CurrentNode() != victim {
					return nil, nil, false
				}
				cl.KeepControl()
				refused.Add(1)
				return nil, errRefused, true
			})
			refusing.Store(true)
			return func() int {
				refusing.Store(false)
				return int(refused.Load())
			}
		}},
		{"NOT_LEADER_OR_FOLLOWER", func(cl *kfake.Cluster) func() int {
			fault := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Nodes: []int32{victim}, Topic: topic, Partitions: []int32{0},
				Err: kerr.NotLeaderForPartition, Count: -1})
			return func() int {
				fault.Remove()
				return fault.Hits()
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			testEmitterRidesOutRefusingLeader(t, topic, partitions, victim, refusedFor, tt.refuse)
		})
	}
}

func testEmitterRidesOutRefusingLeader(t *testing.T, topic string, partitions int, victim int32, refusedFor time.Duration,
	refuse func(*kfake.Cluster) func() int) {
	const (
		emitEvery      = 20 * time.Millisecond
		produceLatency = 5 * time.Millisecond
		// How long another partition's message may take to be
		// acknowledged while partition 0's leader refuses.
		othersWithin = 1500 * time.Millisecond
	)
	logs := captureSaramaLog(t)
	cl, c := leaderCluster(t, topic, partitions)
	// Every Produce takes produceLatency to be answered (acks=all on a
	// cluster): partitions 1 and 2 have batches in flight when a message
	// of partition 0 fails and the producer bumps its epoch, which
	// renumbers every partition's sequences (cause 3).
	cl.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		cl.SleepControl(func() { time.Sleep(produceLatency) })
		return nil, nil, false
	})
	for part, node := range []int32{victim, (victim + 1) % 3, (victim + 2) % 3} {
		if err := cl.MoveTopicPartition(topic, int32(part), node); err != nil {
			t.Fatal(err)
		}
	}
	em, err := goka.NewEmitter(c.Brokers, goka.Stream(topic), new(codec.Bytes), c.EmitterOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = em.Finish() })
	w := newWriter(t, topic, partitions, func(_, key string, value []byte) *goka.Promise {
		promise, err := em.Emit(key, value)
		if err != nil {
			t.Errorf("the emitter refused a message: %v", err)
			_, finish := goka.NewPromiseWithFinisher()
			return finish(nil, err)
		}
		return promise
	})
	for range 5 {
		w.emitRound()
	}
	if !w.wait(10*time.Second) || len(w.errors()) > 0 {
		t.Fatalf("before the refusal: %s", w.summary())
	}

	end := refuse(cl)
	w.mark()
	logs.mark()
	start := time.Now()
	var slowest time.Duration
	var slowestMu sync.Mutex
	for time.Since(start) < refusedFor {
		at := time.Now()
		for part := range partitions {
			promise := w.emit(part)
			if part == 0 {
				continue
			}
			promise.Then(func(err error) {
				if err != nil {
					return
				}
				slowestMu.Lock()
				defer slowestMu.Unlock()
				if d := time.Since(at); d > slowest && time.Since(start) < refusedFor {
					slowest = d
				}
			})
		}
		time.Sleep(emitEvery)
	}
	// Kafka elects another leader, and the victim is back (or fenced).
	to := (victim + 1) % 3
	if err := cl.MoveTopicPartition(topic, 0, to); err != nil {
		t.Fatal(err)
	}
	refused := end()
	t.Logf("broker %d refused %d requests in %v; partition 0 then moved to broker %d", victim, refused, refusedFor, to)
	if refused == 0 {
		t.Fatalf("broker %d refused no request: the test tested nothing", victim)
	}
	for range 5 {
		w.emitRound()
	}
	if !w.wait(8 * time.Second) {
		t.Fatalf("%d messages not answered 8 s after the refusal ended (%s); sarama logged %s", w.pending(), w.summary(), logs.reasons())
	}
	slowestMu.Lock()
	t.Logf("%d messages; the slowest of partitions 1 and 2 during the refusal was acknowledged after %v", w.total(), slowest)
	if slowest > othersWithin {
		t.Errorf("while partition 0's leader refused, a message of another partition took %v to be acknowledged (more than %v)", slowest, othersWithin)
	}
	slowestMu.Unlock()
	if len(w.errors()) > 0 {
		t.Errorf("messages failed while partition 0's leader refused for %v: %s", refusedFor, w.summary())
	}
	checkDelivered(t, c, topic, w)
}

// observeAborts counts the transactions aborted on the cluster: EndTxn
// requests that do not commit.
func observeAborts(t *testing.T, cl *kfake.Cluster) *kfake.FaultHandle {
	t.Helper()
	return cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Observe: true, Count: -1, When: func(r kmsg.Request) bool {
		end, ok := r.(*kmsg.EndTxnRequest)
		return ok && !end.Commit
	}})
}

// commitFirstTime commits p's transaction, and fails the test unless it
// committed at its first attempt. The wallet's producer keeps the messages
// of the open transaction, and when one of them failed for a reason Kafka
// calls abortable it aborts the transaction and sends them again in a new
// one (docs/LEADERS.md plan, step 4): that hides a fault of sarama's from
// the records, not from the broker, which sees the abort, nor from the
// wallet's log, which says why.
func commitFirstTime(t *testing.T, p *txnProducer, topic string, aborts *kfake.FaultHandle) {
	t.Helper()
	warnings := captureSlog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.commit(ctx, "leaders-test", topic, 0, 1)
	if n := aborts.Hits(); n > 0 {
		t.Errorf("the transaction was aborted %d times before it committed; why: %s", n, warnings.summary())
	}
	if err != nil {
		t.Fatalf("the transaction did not commit: %v", err)
	}
}

// leaderCluster starts kfake with three brokers (nodes 0, 1 and 2) and topic
// in partitions partitions, and returns a Config of it.
func leaderCluster(t *testing.T, topic string, partitions int) (*kfake.Cluster, Config) {
	t.Helper()
	cl, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(int32(partitions), topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, Config{Brokers: cl.ListenAddrs(), Partitions: partitions}
}

// startTxnProducerForTest initialises the transactional producer of the
// test group's partition, with a transaction begun.
func startTxnProducerForTest(t *testing.T, c Config, partition int32) *txnProducer {
	t.Helper()
	p, err := newTxnProducer(c, "leaders-test", partition, topology.Hasher, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A producer whose messages are stuck in retries takes as long
		// to close: a failed test need not wait for it.
		closed := make(chan struct{})
		go func() {
			_ = p.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(3 * time.Second):
			t.Logf("the producer did not close in 3 s")
		}
	})
	return p
}

// writer emits numbered records to every partition of a topic, one key per
// partition, and keeps what became of them. A record's value is
// "partition:n", n counting from 0 in each partition.
type writer struct {
	t     *testing.T
	topic string
	keys  []string
	emitf func(topic, key string, value []byte) *goka.Promise

	wg       sync.WaitGroup
	mu       sync.Mutex
	sent     []int // per partition
	answered int
	since    time.Time
	fails    []failure
}

type failure struct {
	partition, n int
	err          error
	after        time.Duration // since mark
}

func newWriter(t *testing.T, topic string, partitions int, emit func(topic, key string, value []byte) *goka.Promise) *writer {
	return &writer{t: t, topic: topic, keys: keysFor(t, topic, partitions), emitf: emit, sent: make([]int, partitions), since: time.Now()}
}

// keysFor returns a key per partition of topic, which the wallet's
// partitioner puts there.
func keysFor(t *testing.T, topic string, partitions int) []string {
	t.Helper()
	partitioner := sarama.NewCustomHashPartitioner(topology.Hasher)(topic)
	keys := make([]string, partitions)
	for i, found := 0, 0; found < partitions; i++ {
		key := fmt.Sprintf("key-%d", i)
		part, err := partitioner.Partition(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key)}, int32(partitions))
		if err != nil {
			t.Fatal(err)
		}
		if keys[part] == "" {
			keys[part] = key
			found++
		}
	}
	return keys
}

// emit emits the next record of a partition.
func (w *writer) emit(part int) *goka.Promise {
	w.mu.Lock()
	n := w.sent[part]
	w.sent[part]++
	w.mu.Unlock()
	w.wg.Add(1)
	promise := w.emitf(w.topic, w.keys[part], fmt.Appendf(nil, "%d:%d", part, n))
	promise.Then(func(err error) {
		defer w.wg.Done()
		w.mu.Lock()
		defer w.mu.Unlock()
		w.answered++
		if err != nil {
			w.fails = append(w.fails, failure{partition: part, n: n, err: err, after: time.Since(w.since)})
		}
	})
	return promise
}

// emitRound emits the next record of every partition.
func (w *writer) emitRound() {
	for part := range w.sent {
		w.emit(part)
	}
}

// mark starts the clock of the failures' times: the start of the fault.
func (w *writer) mark() {
	w.mu.Lock()
	w.since = time.Now()
	w.mu.Unlock()
}

// wait waits until every record emitted is answered, at most d.
func (w *writer) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (w *writer) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.sent {
		n += s
	}
	return n
}

// pending is the number of records emitted and not answered yet.
func (w *writer) pending() int {
	total := w.total()
	w.mu.Lock()
	defer w.mu.Unlock()
	return total - w.answered
}

func (w *writer) errors() []failure {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]failure(nil), w.fails...)
}

// summary says how many records failed, when, and with what.
func (w *writer) summary() string {
	fails := w.errors()
	if len(fails) == 0 {
		return fmt.Sprintf("none of %d records failed", w.total())
	}
	sort.Slice(fails, func(i, j int) bool { return fails[i].after < fails[j].after })
	byErr := map[string]int{}
	byPart := map[int]int{}
	for _, f := range fails {
		byErr[f.err.Error()]++
		byPart[f.partition]++
	}
	var errs []string
	for e, n := range byErr {
		errs = append(errs, fmt.Sprintf("%d x %q", n, e))
	}
	sort.Strings(errs)
	return fmt.Sprintf("%d of %d records failed, the first %v and the last %v after the fault began (partition %d record %d first); by partition %v; %s",
		len(fails), w.total(), fails[0].after.Round(time.Millisecond), fails[len(fails)-1].after.Round(time.Millisecond),
		fails[0].partition, fails[0].n, byPart, strings.Join(errs, ", "))
}

// checkDelivered reads topic read_committed and checks that every
// partition holds the records the writer emitted to it, each once and in
// the order emitted.
func checkDelivered(t *testing.T, c Config, topic string, w *writer) {
	t.Helper()
	want := w.total()
	offsets := map[int32]kgo.Offset{}
	for part := range w.sent {
		offsets[int32(part)] = kgo.NewOffset().AtStart()
	}
	reader, err := c.KgoClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	got := make([][]string, len(w.sent))
	n := 0
	poll := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		for n < want || d < time.Second {
			fetches := reader.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			fetches.EachError(func(topic string, part int32, err error) {
				t.Logf("reading %s/%d: %v", topic, part, err)
			})
			fetches.EachRecord(func(r *kgo.Record) {
				got[r.Partition] = append(got[r.Partition], string(r.Value))
				n++
			})
		}
	}
	poll(5 * time.Second)
	// What else comes (a record twice) in a moment more.
	poll(300 * time.Millisecond)
	for part, values := range got {
		sent := w.sent[part]
		if len(values) == sent {
			for i, v := range values {
				if v != fmt.Sprintf("%d:%d", part, i) {
					t.Errorf("partition %d: record %d is %q, want \"%d:%d\" (out of order or doubled)", part, i, v, part, i)
					break
				}
			}
			continue
		}
		seen := map[string]int{}
		for _, v := range values {
			seen[v]++
		}
		var missing, twice []string
		for i := range sent {
			v := fmt.Sprintf("%d:%d", part, i)
			switch seen[v] {
			case 0:
				missing = append(missing, v)
			case 1:
			default:
				twice = append(twice, v)
			}
		}
		t.Errorf("partition %d: read %d records committed, %d emitted; missing %s; more than once %s",
			part, len(values), sent, abbreviate(missing), abbreviate(twice))
	}
}

func abbreviate(values []string) string {
	if len(values) > 8 {
		return fmt.Sprintf("%v ... (%d)", values[:8], len(values))
	}
	return fmt.Sprint(values)
}

// saramaLog keeps what sarama logs during a test, to count what its
// producers did and to show the end of it when the test fails. sarama's
// Logger is set once (init), so that no client left running by another test
// races with setting it.
type saramaLog struct {
	mu    sync.Mutex
	on    bool
	lines []string
	start time.Time
}

var leadersLog = &saramaLog{}

func init() { sarama.Logger = leadersLog }

func (l *saramaLog) Print(v ...any)                 { l.add(fmt.Sprint(v...)) }
func (l *saramaLog) Printf(format string, v ...any) { l.add(fmt.Sprintf(format, v...)) }
func (l *saramaLog) Println(v ...any)               { l.add(fmt.Sprintln(v...)) }

func (l *saramaLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return
	}
	l.lines = append(l.lines, fmt.Sprintf("%8.3fs %s", time.Since(l.start).Seconds(), strings.TrimRight(line, "\n")))
}

// captureSaramaLog keeps sarama's log for the rest of the test, and logs
// its last lines if the test fails.
func captureSaramaLog(t *testing.T) *saramaLog {
	l := leadersLog
	l.mu.Lock()
	l.on, l.lines, l.start = true, nil, time.Now()
	l.mu.Unlock()
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if t.Failed() {
			lines := l.lines
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("sarama's log, its last %d lines of %d (seconds since the fault began):\n%s", len(lines), len(l.lines), strings.Join(lines, "\n"))
		}
		l.on, l.lines = false, nil
	})
	return l
}

// mark restarts the log's clock (the fault begins) and forgets what came
// before.
func (l *saramaLog) mark() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines, l.start = nil, time.Now()
}

// reasons is what sarama said it retried or closed a connection because
// of, since mark, with the number of times, most frequent first.
func (l *saramaLog) reasons() string {
	l.mu.Lock()
	counts := map[string]int{}
	for _, line := range l.lines {
		if i := strings.Index(line, " because "); i >= 0 {
			counts[line[i+len(" because "):]]++
		}
	}
	l.mu.Unlock()
	if len(counts) == 0 {
		return "no reason to retry"
	}
	var reasons []string
	for r := range counts {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return counts[reasons[i]] > counts[reasons[j]] })
	var out []string
	for _, r := range reasons {
		out = append(out, fmt.Sprintf("%d x %q", counts[r], r))
	}
	return strings.Join(out, ", ")
}

// count is the number of lines logged since mark that contain s.
func (l *saramaLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// slogCapture keeps what the wallet logs with slog during a test (its
// producer says so when a transaction fails and is sent again), instead
// of printing it.
type slogCapture struct {
	mu      sync.Mutex
	records []string
}

// captureSlog makes slog's default logger keep its records for the rest
// of the test.
func captureSlog(t *testing.T) *slogCapture {
	c := &slogCapture{}
	old := slog.Default()
	slog.SetDefault(slog.New(c))
	t.Cleanup(func() { slog.SetDefault(old) })
	return c
}

func (c *slogCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *slogCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *slogCapture) WithGroup(string) slog.Handler            { return c }

func (c *slogCapture) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "attempt" { // which would make every record distinct
			line += " " + a.String()
		}
		return true
	})
	c.mu.Lock()
	c.records = append(c.records, line)
	c.mu.Unlock()
	return nil
}

// summary is the distinct records logged, in order, with their counts.
func (c *slogCapture) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.records) == 0 {
		return "nothing logged"
	}
	counts := map[string]int{}
	var order []string
	for _, r := range c.records {
		if counts[r] == 0 {
			order = append(order, r)
		}
		counts[r]++
	}
	var out []string
	for _, r := range order {
		out = append(out, fmt.Sprintf("%d x %s", counts[r], r))
	}
	return strings.Join(out, "; ")
}
