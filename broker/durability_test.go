package broker

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// Every write the broker acknowledged, with producers on many connections
// sharing fsyncs (third_party/kfake, group commit), is there after a kill
// -9 of the broker: the API's transfer requests (sarama, acks=all,
// idempotent) and the processors' committed transactions (read_committed).
//
// A kill -9 keeps the page cache, so this checks that nothing is
// acknowledged before it is written and that recovery reads back what the
// group commit wrote. That nothing is acknowledged before its fsync
// returns, what a power loss needs, is kfake's
// TestSyncWritesGroupCommitPowerLoss (third_party/kfake/README.md).
func TestAcknowledgedSurvivesKill(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	b := brokerProcess(t, addr, dir)
	kc := kafka.Config{Brokers: []string{addr}, Partitions: 2}
	if err := kc.EnsureTopics(); err != nil {
		t.Fatal(err)
	}

	const senders = 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		acked     = map[string]bool{}
		committed = map[string]bool{}
		wg        sync.WaitGroup
	)
	for s := range senders {
		// A producer each: a connection each, as the API's instances.
		p, err := sarama.NewSyncProducer(kc.Brokers, kc.Sarama())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				m := message(fmt.Sprintf("s%d-%d", s, n))
				m.Key = sarama.StringEncoder(fmt.Sprint(n))
				if _, _, err := p.SendMessage(m); err != nil {
					return
				}
				mu.Lock()
				acked[fmt.Sprintf("s%d-%d", s, n)] = true
				mu.Unlock()
			}
		}()
	}
	tx, err := kc.KgoClient(kgo.DefaultProduceTopic(string(topology.Instructions)), kgo.TransactionalID("accountant-0"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			if err := tx.BeginTransaction(); err != nil {
				return
			}
			values := []string{fmt.Sprintf("t%d-a", n), fmt.Sprintf("t%d-b", n)}
			for _, v := range values {
				if err := tx.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
					return
				}
			}
			if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return
			}
			mu.Lock()
			for _, v := range values {
				committed[v] = true
			}
			mu.Unlock()
		}
	}()

	time.Sleep(2 * time.Second)
	// What the clients were told before the kill; those still sending
	// retry on the restarted broker, and are let finish there.
	mu.Lock()
	wantAcked, wantCommitted := maps.Clone(acked), maps.Clone(committed)
	mu.Unlock()
	if len(wantAcked) < 100 || len(wantCommitted) == 0 {
		t.Fatalf("too little traffic to judge: %d writes acknowledged, %d records committed", len(wantAcked), len(wantCommitted))
	}
	if err := b.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.Wait()
	t.Logf("%d writes acknowledged, %d records committed when the broker was killed", len(wantAcked), len(wantCommitted))
	brokerProcess(t, addr, dir)
	cancel()
	wg.Wait()

	for _, read := range []struct {
		topic string
		want  map[string]bool
	}{{string(topology.TransferRequests), wantAcked}, {string(topology.Instructions), wantCommitted}} {
		missing := read.want
		reader, err := kc.KgoClient(kgo.ConsumeTopics(read.topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
		for len(missing) > 0 && rctx.Err() == nil {
			reader.PollFetches(rctx).EachRecord(func(r *kgo.Record) { delete(missing, string(r.Value)) })
		}
		rcancel()
		reader.Close()
		if len(missing) > 0 {
			t.Errorf("%s: %d acknowledged records missing after the kill", read.topic, len(missing))
		}
	}
}
