package run_test

import (
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

// rejectChangelog makes the broker refuse every write to the accountant's
// changelog while on is set, counting the refusals.
func rejectChangelog(cluster *kfake.Cluster, on *atomic.Bool, rejected *atomic.Int64) {
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !on.Load() {
			return nil, nil, false
		}
		touches := false
		for _, topic := range pr.Topics {
			touches = touches || topic.Topic == string(topology.AccountTable)
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

// TestReemissionRepairsLostChangelogWrite reproduces goka's crash window:
// the accountant updates its local table, the changelog write never
// reaches Kafka, and the processor stops before committing the input. When
// the payment is redelivered, to the same instance (whose local table
// already has it) or to another one (whose table was rebuilt from the
// changelog), it must be applied exactly once and reach the changelog,
// which is what the view and every future owner of the partition read.
func TestReemissionRepairsLostChangelogWrite(t *testing.T) {
	for _, sameInstance := range []bool{true, false} {
		name := "another instance"
		if sameInstance {
			name = "same instance"
		}
		t.Run(name, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cluster.Close)
			var reject atomic.Bool
			var rejected atomic.Int64
			rejectChangelog(cluster, &reject, &rejected)

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

			reject.Store(true)
			second := wallet.Transfer{RequestID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), From: "Alice", To: "Bob", Amount: wallet.Cents(200)}
			if status, body := post(t, cl, second); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(second)
			deadline := time.Now().Add(30 * time.Second)
			for rejected.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the accountant never tried to write the changelog")
				}
				time.Sleep(50 * time.Millisecond)
			}
			// The window is open: the accountant's local table has the
			// second transfer, the changelog does not.
			time.Sleep(2 * time.Second)
			if got := balance(t, cl, "Alice"); got != "-1.00" {
				t.Fatalf("with the changelog write refused, the view shows Alice at %s, want -1.00", got)
			}

			if !sameInstance {
				stopFirst()
				start(t, withState(t, c), run.Processors)
			}
			reject.Store(false)

			waitBalances(t, cl, &want, 60*time.Second) // Alice -3.00, Bob 3.00
			t.Logf("%d changelog writes refused, then repaired", rejected.Load())
		})
	}
}
