package run_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// TestCompactionKeepsTheCommittedVersion: a table's changelog is
// compacted, and compaction keeps a key's last record by position, not by
// version. Before transactions, a zombie's stale version written after the
// honest newest one survived compaction, and the honest one was deleted:
// every reader recovering the table took the stale version, whatever
// rule it applied. Now a zombie's writes are in a transaction that its
// successor's fencing aborts, and the log cleaner drops aborted records.
//
//  1. Bob's account has two committed versions (two deposits).
//  2. A zombie writes bob's first version again, last, in a transaction
//     that is aborted.
//  3. Traffic on bob's partition rolls its segments, and the cleaner
//     compacts them: the aborted record is gone, the honest newest stays.
//  4. Processors and views with fresh state directories recover the table
//     from the compacted changelog: bob's balance is the newest.
//
// Apache Kafka only (make test-kafka, whose broker rolls segments every
// 2 s and cleans them soon after): the embedded broker does not clean
// aborted records away.
func TestCompactionKeepsTheCommittedVersion(t *testing.T) {
	if os.Getenv("KAFKA_BROKERS") == "" {
		t.Skip("compaction is tried on Apache Kafka: make test-kafka")
	}
	brokers := brokers(t)
	c := config(t, brokers, 2)
	_, stop := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	var want ledger.Ledger
	startWorld(t, cl, &want)
	bob := names("cpt-bob-", 1)[0]
	partition := topology.Partition(bob, c.Kafka.Partitions)
	var neighbours []string // accounts in bob's partition
	for len(neighbours) < 4 {
		if n := names("cpt-", 1)[0]; topology.Partition(n, c.Kafka.Partitions) == partition {
			neighbours = append(neighbours, n)
		}
	}
	signUp(t, cl, wallet.Money{}, append(neighbours, bob)...)
	deposit(t, cl, &want, bob, wallet.MustParseMoney("1.00"))
	first := lastGoodRecord(t, brokers, partition, bob) // bob at 1.00
	deposit(t, cl, &want, bob, wallet.MustParseMoney("2.00"))
	newest := lastGoodRecord(t, brokers, partition, bob) // bob at 3.00

	// The zombie's write, in a transaction that is aborted.
	zombie, err := kgoClient(t, brokers, kgo.TransactionalID("accountant-compaction-zombie"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	stale := &kgo.Record{Topic: first.Topic, Partition: partition, Key: first.Key, Value: first.Value}
	if err := zombie.ProduceSync(ctx, stale).FirstErr(); err != nil {
		t.Fatalf("the zombie's write: %v", err)
	}
	if err := zombie.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort the zombie's transaction: %v", err)
	}
	zombie.Close()

	// Traffic on bob's partition until the cleaner has dropped the
	// aborted record.
	for i := 0; ; i++ {
		deposit(t, cl, &want, neighbours[i%len(neighbours)], wallet.Cents(1))
		records := tableRecords(t, brokers, partition, bob)
		if len(records) > 0 && bytes.Equal(records[len(records)-1].Value, newest.Value) && records[len(records)-1].Offset == newest.Offset &&
			!anyAfter(records, stale.Offset) && i > 10 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after 3m the changelog of bob still holds the aborted record, or lost the newest: %d records of bob", len(records))
		}
		time.Sleep(500 * time.Millisecond)
	}
	stop()

	start(t, withState(t, c), run.Processors)
	cl = startAPIs(t, c)
	checkBooks(t, c, cl, &want)
}

// tableRecords returns every record of key in a partition of the
// accountant's table, as a read_uncommitted reader reads them: aborted
// records included, until the cleaner drops them.
func tableRecords(t *testing.T, brokers []string, partition int32, key string) []*kgo.Record {
	t.Helper()
	end, err := kafkaConfig(t, brokers).EndOffset(string(topology.AccountTable), partition)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgoClient(t, brokers,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{string(topology.AccountTable): {partition: kgo.NewOffset().AtStart()}}),
		kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var records []*kgo.Record
	for done := false; !done; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s/%d: %v", topology.AccountTable, partition, ctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == key && !r.Attrs.IsControl() {
				records = append(records, r)
			}
			done = done || r.Offset >= end-1
		})
	}
	return records
}

// anyAfter reports whether a record of records is at offset or after.
func anyAfter(records []*kgo.Record, offset int64) bool {
	for _, r := range records {
		if r.Offset >= offset {
			return true
		}
	}
	return false
}
