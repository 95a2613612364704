package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// CommittedEnd is the offset after a partition's last committed record,
// whatever transaction markers and aborted records follow it, and a
// read_committed reader receives the record before it.
func TestCommittedEnd(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 1}
	if err := c.EnsureTopics(); err != nil {
		t.Fatal(err)
	}
	topic := string(topology.DeadLetters)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plain, err := c.KgoClient(kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	txn, err := c.KgoClient(kgo.DefaultProduceTopic(topic), kgo.TransactionalID("end-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	transaction := func(commit bool, values ...string) {
		t.Helper()
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	wantEnd := func(step string, want int64) {
		t.Helper()
		end, err := c.CommittedEnd(topic, 0)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if end != want {
			t.Fatalf("%s: committed end %d, want %d", step, end, want)
		}
	}

	wantEnd("empty", 0)
	transaction(false, "aborted")             // 0, abort marker at 1
	wantEnd("only an aborted transaction", 0) // nothing committed: the start
	transaction(true, "a", "b")               // 2, 3, commit marker at 4
	wantEnd("a committed transaction", 4)
	transaction(false, "x", "y") // 5, 6, abort marker at 7
	wantEnd("an aborted transaction after it", 4)
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("plain")}).FirstErr(); err != nil { // 8
		t.Fatal(err)
	}
	wantEnd("a record outside transactions", 9)
	for i := range 40 { // more aborted records than the first look back
		transaction(false, fmt.Sprint(i))
	}
	wantEnd("many aborted transactions", 9)

	// An open transaction's records do not count.
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	wantEnd("an open transaction", 9)
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	// A read_committed reader receives the record before the end.
	end, err := c.CommittedEnd(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := c.KgoClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var last *kgo.Record
	for last == nil || last.Offset < end-1 {
		fetches := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("a read_committed reader never reached offset %d: last %v", end-1, last)
		}
		fetches.EachRecord(func(r *kgo.Record) { last = r })
	}
	if last.Offset != end-1 || string(last.Value) != "open" {
		t.Errorf("last committed record %d %q, want offset %d, \"open\"", last.Offset, last.Value, end-1)
	}
}
