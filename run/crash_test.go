package run_test

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// lostWrite is a kind of write the broker refuses in a crash test: to a
// topic, and, when marker is set, only batches that contain it.
type lostWrite struct {
	name, topic string
	marker      []byte
}

// reject makes the broker refuse every produce request that carries a
// write of the kind while on is set, counting the refusals. A refused
// request fails every write in it, as a broker that died before
// acknowledging would.
func reject(cluster *kfake.Cluster, lost lostWrite, on *atomic.Bool, rejected *atomic.Int64) {
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !on.Load() {
			return nil, nil, false
		}
		touches := false
		for _, topic := range pr.Topics {
			for _, p := range topic.Partitions {
				touches = touches || topic.Topic == lost.topic && (lost.marker == nil || bytes.Contains(p.Records, lost.marker))
			}
		}
		if !touches {
			return nil, nil, false
		}
		rejected.Add(1)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, topic := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = topic.Topic
			for _, p := range topic.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.MessageTooLarge.Code // not retried: the write fails at once
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// TestLostWritesAreRepairedByRedelivery makes the broker refuse one of a
// processor's writes (the changelog, or an output: the credit, the
// outcome) while a transfer goes through. The write fails, so the
// partition's transaction is aborted with everything else it held, the
// table's writes staged with it, and the processor starts again from the
// committed state; the input is delivered again, to the same instance or
// to another one. The outcome must be what it would have been without the
// fault: the transfer completed, its amount moved once.
func TestLostWritesAreRepairedByRedelivery(t *testing.T) {
	for _, lost := range []lostWrite{
		{"accountant changelog", string(topology.AccountTable), nil},
		{"credit", string(topology.Instructions), []byte(`"kind":"credit"`)},
		{"outcome", string(topology.TransferRequests), []byte(`"kind":"outcome"`)},
		{"paymentd changelog", string(topology.TransferTable), nil},
	} {
		for _, sameInstance := range []bool{true, false} {
			name := lost.name + ", another instance"
			if sameInstance {
				name = lost.name + ", same instance"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(cluster.Close)
				var on atomic.Bool
				var rejected atomic.Int64
				reject(cluster, lost, &on, &rejected)

				c := config(t, cluster.ListenAddrs(), 2)
				_, stopFirst := start(t, c, run.Processors)
				cl := startAPIs(t, c)
				signUp(t, cl, maxOverdraft, "Alice", "Bob")

				var want ledger.Ledger
				first := wallet.Transfer{RequestID: uuid.MustParse("11111111-1111-4111-8111-111111111111"), From: "Alice", To: "Bob", Amount: wallet.Cents(100)}
				if status, body := post(t, cl, first); status != http.StatusCreated {
					t.Fatalf("POST = %d %s", status, body)
				}
				want.Apply(first)
				waitBalances(t, cl, &want, 60*time.Second) // Alice -1.00, Bob 1.00

				on.Store(true)
				second := wallet.Transfer{RequestID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), From: "Alice", To: "Bob", Amount: wallet.Cents(200)}
				if status, body := post(t, cl, second); status != http.StatusCreated {
					t.Fatalf("POST = %d %s", status, body)
				}
				want.Apply(second)
				deadline := time.Now().Add(30 * time.Second)
				for rejected.Load() == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("no write of the %s was ever tried", lost.name)
					}
					time.Sleep(50 * time.Millisecond)
				}
				// The window is open: the processor's local table has moved
				// on, Kafka does not have the write, and the processor
				// restarts (same instance) or is replaced.
				time.Sleep(2 * time.Second)

				if !sameInstance {
					stopFirst()
					start(t, withState(t, c), run.Processors)
				}
				on.Store(false)

				waitFinal(t, cl, second.RequestID, wallet.Completed, "")
				waitBalances(t, cl, &want, 60*time.Second) // Alice -3.00, Bob 3.00
				t.Logf("%d writes refused, then repaired", rejected.Load())
			})
		}
	}
}
