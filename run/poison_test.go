package run_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// Poison written straight into the wallet's topics by a plain Kafka client
// goes to the dead-letter topic with its error and origin, and the
// pipeline carries on.
func TestPoisonGoesToDeadLetters(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	start(t, c, run.Processors)
	cl := startAPIs(t, c)
	signUp(t, cl, maxOverdraft, "poison-alice", "poison-bob")

	raw, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poison := []*kgo.Record{
		{Topic: string(topology.TransferRequests), Key: []byte(uuid.NewString()), Value: []byte("not json")},
		{Topic: string(topology.TransferRequests), Key: []byte(uuid.NewString()), Value: []byte(`{"request_id":"x","from":"A","to":"B","amount":"1.00"}`)},
		{Topic: string(topology.Instructions), Key: []byte("poison-" + uuid.NewString()[:8]), Value: []byte(`{"amount":"0.001"}`)},
		{Topic: string(topology.SignupRequests), Key: []byte("poison-" + uuid.NewString()[:8]), Value: []byte(`{"request_id":"` + uuid.NewString() + `","username":"@world"}`)},
	}
	if err := raw.ProduceSync(ctx, poison...).FirstErr(); err != nil {
		t.Fatalf("produce poison: %v", err)
	}

	tr := wallet.Transfer{RequestID: uuid.New(), From: "poison-alice", To: "poison-bob", Amount: wallet.Cents(700)}
	if status, body := post(t, cl, tr); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	var want ledger.Ledger
	want.Apply(tr)
	waitBalances(t, cl, &want, 60*time.Second) // poison-alice -7.00, poison-bob 7.00

	consumer, err := kgoClient(t, brokers,
		kgo.ConsumeTopics(string(topology.DeadLetters)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	found := map[string]*kgo.Record{}
	for len(found) < len(poison) && ctx.Err() == nil {
		fetches := consumer.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) {
			for _, p := range poison {
				if string(r.Key) == string(p.Key) {
					found[string(r.Key)] = r
				}
			}
		})
	}
	for _, p := range poison {
		d, ok := found[string(p.Key)]
		if !ok {
			t.Errorf("poison %q from %s is not in %s", p.Value, p.Topic, topology.DeadLetters)
			continue
		}
		h := map[string]string{}
		for _, kv := range d.Headers {
			h[kv.Key] = string(kv.Value)
		}
		if string(d.Value) != string(p.Value) || h[topology.HeaderTopic] != p.Topic ||
			h[topology.HeaderPartition] != strconv.Itoa(int(p.Partition)) ||
			h[topology.HeaderOffset] != strconv.FormatInt(p.Offset, 10) || h[topology.HeaderError] == "" {
			t.Errorf("dead letter %q with headers %v, want the original from %s/%d@%d with an error",
				d.Value, h, p.Topic, p.Partition, p.Offset)
		}
	}
}

// A changelog record that does not decode (here a paymentd-table value of
// random bytes) is poison in the table, in recovery and in processing: a
// processor recovering the partition stores and counts it, the transfer
// that meets it goes to the dead letters with the reason, and the others
// go on. No panic, no restart loop.
func TestUndecodableTableValueIsPoison(t *testing.T) {
	brokers := embeddedBroker(t)
	c := config(t, brokers, 2)
	_, stop := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	signUp(t, cl, maxOverdraft, "garbled-alice", "garbled-bob")
	stop()

	raw, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	garbled := wallet.Transfer{RequestID: uuid.New(), From: "garbled-alice", To: "garbled-bob", Amount: wallet.Cents(100)}
	record := &kgo.Record{Topic: string(topology.TransferTable), Key: []byte(garbled.RequestID.String()), Value: []byte("\x00\xffrandom bytes")}
	if err := raw.ProduceSync(ctx, record).FirstErr(); err != nil {
		t.Fatalf("produce garbage: %v", err)
	}

	// A processor with a fresh state directory recovers the partition.
	before := processors.UndecodableRecords()
	start(t, withState(t, c), run.Processors)
	if status, body := post(t, cl, garbled); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	tr := wallet.Transfer{RequestID: uuid.New(), From: "garbled-alice", To: "garbled-bob", Amount: wallet.Cents(200)}
	if status, body := post(t, cl, tr); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	var want ledger.Ledger
	want.Apply(tr)
	waitBalances(t, cl, &want, time.Minute) // only the second transfer moved money

	d := deadLetter(ctx, t, brokers, garbled.RequestID.String())
	h := map[string]string{}
	for _, kv := range d.Headers {
		h[kv.Key] = string(kv.Value)
	}
	if !strings.Contains(h[topology.HeaderError], "paymentd-table value of key") || h[topology.HeaderTopic] != string(topology.TransferRequests) {
		t.Errorf("dead letter with headers %v, want the transfer with the reason", h)
	}
	if got := processors.UndecodableRecords() - before; got < 2 {
		t.Errorf("undecodable table records counted: %d, want at least 2 (recovered, met)", got)
	}
}

// deadLetter returns the first committed dead letter keyed key.
func deadLetter(ctx context.Context, t *testing.T, brokers []string, key string) *kgo.Record {
	t.Helper()
	consumer, err := kgoClient(t, brokers,
		kgo.ConsumeTopics(string(topology.DeadLetters)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for ctx.Err() == nil {
		var found *kgo.Record
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if found == nil && string(r.Key) == key {
				found = r
			}
		})
		if found != nil {
			return found
		}
	}
	t.Fatalf("no dead letter keyed %s", key)
	return nil
}
