package run

import (
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// The processors run every group of topology.Graphs, in its order, each
// built as its own group: a group added to the topology and to
// processors.Groups runs with no edit in run/.
func TestProcessingRunsEveryGraph(t *testing.T) {
	groups, err := groupBuilders(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	graphs := topology.Graphs()
	if len(groups) != len(graphs) {
		t.Fatalf("%d groups run, want the %d graphs", len(groups), len(graphs))
	}
	for i, g := range groups {
		want := graphs[i].Group()
		if g.graph.Group() != want {
			t.Errorf("group %d is %s, want %s", i, g.graph.Group(), want)
		}
		proc, err := g.create([]goka.ProcessorOption{goka.WithTester(tester.New(t))})
		if err != nil {
			t.Fatalf("create %s: %v", want, err)
		}
		if got := proc.Graph().Group(); got != want {
			t.Errorf("the builder of %s built %s", want, got)
		}
	}
}

func TestStallWatch(t *testing.T) {
	lag := func(p int32, committed, end int64) kafka.Lag {
		return kafka.Lag{Group: "paymentd", Topic: "wallet.transfer_request", Partition: p, Committed: committed, End: end}
	}
	t0 := time.Unix(1000, 0)
	after := time.Minute
	steps := []struct {
		at   time.Duration
		lags []kafka.Lag
		want []string
	}{
		{0, []kafka.Lag{lag(0, 10, 20), lag(1, 5, 5)}, nil},
		// Partition 0 stands still, but not for long enough yet.
		{30 * time.Second, []kafka.Lag{lag(0, 10, 25), lag(1, 5, 9)}, nil},
		// Partition 0 has stood still for 70 s while its end moved on;
		// partition 1 has lag, but only since 30 s.
		{70 * time.Second, []kafka.Lag{lag(0, 10, 30), lag(1, 5, 12)},
			[]string{"paymentd wallet.transfer_request/0 at offset 10 with 20 behind for 1m10s"}},
		// Partition 0 moved: no longer stalled; partition 1 now is.
		{100 * time.Second, []kafka.Lag{lag(0, 11, 30), lag(1, 5, 12)},
			[]string{"paymentd wallet.transfer_request/1 at offset 5 with 7 behind for 1m10s"}},
		// Partition 1 caught up; partition 0 moved again.
		{200 * time.Second, []kafka.Lag{lag(0, 30, 30), lag(1, 12, 12)}, nil},
		// A group that never committed stands still too.
		{210 * time.Second, []kafka.Lag{lag(2, -1, 3)}, nil},
		{300 * time.Second, []kafka.Lag{lag(2, -1, 3)},
			[]string{"paymentd wallet.transfer_request/2 at offset -1 with 3 behind for 1m30s"}},
	}
	w := stallWatch{}
	for _, s := range steps {
		got := w.update(s.lags, t0.Add(s.at), after)
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("at %s: stalled %q, want %q", s.at, got, s.want)
		}
	}
}
