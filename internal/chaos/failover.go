package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/topology"
)

// partitionOf returns the partition Kafka's default partitioner, which the
// wallet uses, picks for key.
func partitionOf(key string, partitions int) int {
	return int((topology.Murmur2([]byte(key)) & 0x7fffffff) % uint32(partitions))
}

// prober times transfers through every partition: for partition p it
// moves 0.01 between two accounts of its own, both in partition p of
// wallet.payment, with a request ID in partition p of
// wallet.transfer_request, and waits until the view shows both sides.
type prober struct {
	cl       *client
	l        *journal
	rng      *rand.Rand
	from, to []int32       // per partition
	want     ledger.Ledger // of the probe accounts
	count    int
}

func newProber(cl *client, l *journal, c config) *prober {
	pr := &prober{cl: cl, l: l, rng: rand.New(rand.NewPCG(c.Seed, 3))}
	for p := range c.Partitions {
		pr.from = append(pr.from, l.account(accountIn(p, c.Partitions, "probe-from")))
		pr.to = append(pr.to, l.account(accountIn(p, c.Partitions, "probe-to")))
	}
	return pr
}

// funded records a deposit into a probe account, if t is one.
func (pr *prober) funded(t wallet.Transfer) {
	for _, a := range append(append([]int32(nil), pr.from...), pr.to...) {
		if pr.l.name(a) == t.To {
			pr.want.Apply(t)
			return
		}
	}
}

// accountIn returns the first name prefix-K that hashes to partition p.
func accountIn(p, partitions int, prefix string) string {
	for k := 0; ; k++ {
		if name := fmt.Sprintf("%s-%d", prefix, k); partitionOf(name, partitions) == p {
			return name
		}
	}
}

// probe posts one transfer per partition and returns, per partition, how
// long after since both its sides were visible in the view. It fails
// after timeout.
func (pr *prober) probe(ctx context.Context, since time.Time, timeout time.Duration) ([]time.Duration, error) {
	n := len(pr.from)
	for p := range n {
		t := &transfer{from: pr.from[p], to: pr.to[p], cents: 1, sent: true}
		for {
			t.id = harness.RandomUUID(pr.rng)
			if partitionOf(t.id.String(), n) == p {
				break
			}
		}
		pr.l.addProbe(t)
		pr.count++
		body := pr.l.body(t)
		t.outcome = pr.cl.send(ctx, body, ordinary)
		if t.outcome != accepted {
			return nil, fmt.Errorf("probe transfer %s on partition %d was not accepted", t.id, p)
		}
		pr.want.Apply(body)
	}
	names, _ := pr.l.snapshot()
	took := make([]time.Duration, n)
	pending := n
	deadline := time.Now().Add(timeout)
	for pending > 0 {
		for p := range n {
			if took[p] != 0 {
				continue
			}
			from, to := names[pr.from[p]], names[pr.to[p]]
			a, b := harness.ReadBalance(ctx, pr.cl.api, from), harness.ReadBalance(ctx, pr.cl.api, to)
			if a.Err == nil && b.Err == nil && a.Cents == pr.want.Balance(from) && b.Cents == pr.want.Balance(to) {
				took[p] = time.Since(since)
				pending--
			}
		}
		if pending == 0 {
			break
		}
		if ctx.Err() != nil {
			return took, context.Cause(ctx)
		}
		if time.Now().After(deadline) {
			return took, fmt.Errorf("probes not visible after %s: %v (0: not yet)", timeout, took)
		}
		harness.Sleep(ctx, 25*time.Millisecond)
	}
	return took, nil
}

// failover is one measurement: a processor killed with no load, and how
// long until the probes of every partition were applied.
type failover struct {
	Process      string          `json:"process"`
	Mode         string          `json:"mode"` // "restarted" after -restart-after, or "held" down until the end
	Baseline     time.Duration   `json:"baseline_ns"`
	PerPartition []time.Duration `json:"per_partition_ns"`
	Max          time.Duration   `json:"max_ns"`
}

func (f failover) String() string {
	per := make([]string, len(f.PerPartition))
	for i, d := range f.PerPartition {
		per[i] = d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%s %s: %s (baseline %s, per partition %v)", f.Process, f.Mode,
		f.Max.Round(10*time.Millisecond), f.Baseline.Round(10*time.Millisecond), per)
}

// settle probes until the pipeline answers within a second, so that a
// measurement does not start in the middle of a rebalance, and returns the
// last probe's time.
func (pr *prober) settle(ctx context.Context) (time.Duration, error) {
	var last time.Duration
	for range 30 {
		took, err := pr.probe(ctx, time.Now(), 90*time.Second)
		if err != nil {
			return 0, err
		}
		last = slicesMax(took)
		if last < time.Second {
			return last, nil
		}
		harness.Sleep(ctx, time.Second)
	}
	return last, nil
}

// measureFailover kills a random processor, posts the probes right
// after, and times them; then the processor is restarted. In mode
// "restarted" it comes back after -restart-after, as in the chaos; in mode
// "held" only after the probes, so the survivors take its partitions over.
func measureFailover(ctx context.Context, pr *prober, cl *cluster, rng *rand.Rand, hold bool) (failover, error) {
	f := failover{Mode: "restarted"}
	if hold {
		f.Mode = "held"
	}
	base, err := pr.settle(ctx)
	if err != nil {
		return f, fmt.Errorf("settle before failover: %w", err)
	}
	f.Baseline = base
	p := pickRunning(rng, cl.processors)
	if p == nil {
		return f, fmt.Errorf("no processor running")
	}
	f.Process = p.name
	killedAt := time.Now()
	if ok, err := p.kill(hold); err != nil || !ok {
		return f, fmt.Errorf("kill %s: ok %v: %w", p.name, ok, err)
	}
	defer p.release()
	slog.Info("failover: kill -9", "process", p.name, "mode", f.Mode)
	took, err := pr.probe(ctx, killedAt, 3*time.Minute)
	f.PerPartition = took
	f.Max = slicesMax(took)
	if err != nil {
		return f, fmt.Errorf("failover of %s: %w", p.name, err)
	}
	slog.Info("failover measured", "result", f.String())
	return f, nil
}

func slicesMax(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
