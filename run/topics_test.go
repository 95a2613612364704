package run_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

func TestPartitionCountMismatchFails(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := config(t, []string{b.Addr()}, 2)
	if err := c.Kafka.EnsureTopics(); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	c.Kafka.Partitions = 3
	err = run.Processors(context.Background(), c)
	want := "has 2 partitions but 3 are configured"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("start with 3 partitions = %v, want an error saying %q", err, want)
	}
}

func TestUnreachableKafka(t *testing.T) {
	c := config(t, []string{"127.0.0.1:1"}, 2)
	began := time.Now()
	err := run.Emitter(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Kafka at 127.0.0.1:1") || !strings.Contains(err.Error(), "go run ./cmd/broker") {
		t.Errorf("Emitter = %v, want an error naming the address and how to start a broker", err)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("took %s to give up, want under 15s", took)
	}
}

// A standard Kafka client (kcat, librdkafka) writing with Kafka's default
// partitioner reaches the partitions the wallet reads: debits it writes
// straight into wallet.payment (as only processors may, on a broker with
// ACLs) are decided in the sender's partition, credited and found by the
// view, and a transfer it writes lands where the API writes the same
// request ID. (paymentd dead-letters the outcomes of those debits: it
// never stored their transfers.)
func TestKcatPartitionerInterop(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (make test installs it)")
	}
	brokers := brokers(t)
	c := config(t, brokers, 2)
	args := []string{"-b", strings.Join(brokers, ","), "-X", "partitioner=murmur2_random"}
	if c.Kafka.Security != (kafka.Security{}) {
		// kcat takes its settings from a file, which make test-kafka
		// writes with PLAIN: this kcat may be too old for SCRAM on Kafka 4.
		conf := os.Getenv("KAFKA_KCAT_CONFIG")
		if conf == "" {
			t.Skip("a secured Kafka, and no kcat settings for it in KAFKA_KCAT_CONFIG")
		}
		args = append(args, "-F", conf)
	}
	start(t, c, run.Processors)
	cl := startAPIs(t, c)

	produce := func(topic, lines string) {
		t.Helper()
		cmd := exec.Command(kcat, append(args, "-P", "-t", topic, "-K", "\t")...)
		cmd.Stdin = strings.NewReader(lines)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat produce: %v\n%s", err, out)
		}
	}

	var want ledger.Ledger
	var lines strings.Builder
	for i := 0; i < 10; i++ {
		id := uuid.NewString()
		from, to := fmt.Sprintf("kcat-from-%d", i), fmt.Sprintf("kcat-to-%d", i)
		signUp(t, cl, maxOverdraft, from, to)
		// Keyed by the account key, as every writer of wallet.payment
		// keys it ("kcat-frorn-0": the key folds look-alikes).
		key, err := wallet.AccountKey(from)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&lines, "%s\t{\"request_id\":%q,\"kind\":\"debit\",\"account\":%q,\"from\":%q,\"to\":%q,\"amount\":\"5.00\"}\n", key, id, key, from, to)
		want.Add(i, from, to, 500)
	}
	produce(string(topology.Instructions), lines.String())

	signUp(t, cl, maxOverdraft, "kcat-alice", "kcat-bob")
	tr := wallet.Transfer{RequestID: uuid.New(), From: "kcat-alice", To: "kcat-bob", Amount: wallet.Cents(123)}
	produce(string(topology.TransferRequests), fmt.Sprintf("%s\t{\"request_id\":%q,\"from\":%q,\"amount\":\"1.23\",\"to\":%q}\n", tr.RequestID, tr.RequestID, tr.From, tr.To))
	// The same transfer through the API: the same partition, so paymentd
	// recognises it and it is applied once.
	if status, body := post(t, cl, tr); status != 201 {
		t.Fatalf("POST = %d %s", status, body)
	}
	want.Apply(tr) // kcat-alice -1.23, kcat-bob 1.23
	waitBalances(t, cl, &want, 60*time.Second)
}

// Version 2 reads nothing version 1 wrote: a start on its topics or its
// state directory stops with one line saying to start afresh.
func TestVersion1DataIsRefused(t *testing.T) {
	t.Run("topics", func(t *testing.T) {
		b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		c := config(t, []string{b.Addr()}, 2)
		admin, err := sarama.NewClusterAdmin(c.Kafka.Brokers, c.Kafka.Sarama())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		// Version 1's topics: the transfer log without the signup log.
		if err := admin.CreateTopic(string(topology.TransferRequests), &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
			t.Fatal(err)
		}
		err = run.Processors(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), "version 1") || !strings.Contains(err.Error(), "delete ./data") {
			t.Errorf("start on version 1's topics = %v, want a refusal saying to start afresh", err)
		}
	})
	t.Run("state directory", func(t *testing.T) {
		c := config(t, []string{"127.0.0.1:1"}, 2)
		// What version 1 left: a RocksDB directory per table partition.
		if err := os.MkdirAll(filepath.Join(c.State, "accountant-table.0"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := run.Processors(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), "written by version 1") || !strings.Contains(err.Error(), c.State) {
			t.Errorf("start on version 1's state = %v, want a refusal naming the directory", err)
		}
	})
}
