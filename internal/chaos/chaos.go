package chaos

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// chaosStats counts what the chaos did.
type chaosStats struct {
	processorKills  int
	processorPauses int
	brokerKills     int
}

// runChaos kills and pauses processors and kills the broker until ctx is
// done: every c.KillEvery a random running processor is killed, every
// c.PauseEvery one is paused for c.PauseFor (past its session, so that the
// others take its partitions over and it resumes a zombie), and the broker
// is killed c.BrokerKills times, when done reaches k/(c.BrokerKills+2) of total for k = 1, 2, ...
// (one kill: at a third of the sends), which leaves the last part of the
// sends for recovery. Supervisors restart what was killed after
// c.RestartAfter.
func runChaos(ctx context.Context, c config, cl *cluster, done *atomic.Int64, total int) chaosStats {
	var s chaosStats
	rng := rand.New(rand.NewPCG(c.Seed, 2))
	var kill <-chan time.Time
	if c.KillEvery > 0 && len(cl.processors) > 0 {
		t := time.NewTicker(c.KillEvery)
		defer t.Stop()
		kill = t.C
	}
	var pause <-chan time.Time
	if c.PauseEvery > 0 && len(cl.processors) > 1 {
		t := time.NewTicker(c.PauseEvery)
		defer t.Stop()
		pause = t.C
	}
	poll := time.NewTicker(5 * time.Millisecond) // cheap: one atomic load
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return s
		case <-kill:
			if p := pickRunning(rng, cl.processors); p != nil {
				if ok, err := p.kill(false); err != nil {
					slog.Error("chaos", "error", err)
				} else if ok {
					s.processorKills++
					slog.Info("kill -9", "process", p.name, "sent", done.Load())
				}
			}
		case <-pause:
			if p := pickRunning(rng, cl.processors); p != nil {
				if ok, err := p.pause(c.PauseFor); err != nil {
					slog.Error("chaos", "error", err)
				} else if ok {
					s.processorPauses++
					slog.Info("kill -STOP", "process", p.name, "for", c.PauseFor, "sent", done.Load())
				}
			}
		case <-poll.C:
			if s.brokerKills >= c.BrokerKills {
				continue
			}
			threshold := int64(total * (s.brokerKills + 1) / (c.BrokerKills + 2))
			if done.Load() < threshold {
				continue
			}
			ok, err := cl.broker.kill(false)
			if err != nil {
				slog.Error("chaos", "error", err)
			}
			if ok {
				s.brokerKills++
				slog.Info("kill -9", "process", cl.broker.name, "sent", done.Load())
			}
		}
	}
}

// pickRunning returns a random running process of ps, or nil.
func pickRunning(rng *rand.Rand, ps []*process) *process {
	var up []*process
	for _, p := range ps {
		if p.running() {
			up = append(up, p)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[rng.IntN(len(up))]
}
