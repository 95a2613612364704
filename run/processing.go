package run

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/disk"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/topology"
)

// Defaults of the processors' failure handling.
const (
	// DefaultStallAfter is how long a partition's lag may stand still
	// before the processors report it stalled.
	DefaultStallAfter = time.Minute
	// DefaultGiveUpAfter is how long a group may keep failing before the
	// process exits, so that its supervisor sees it.
	DefaultGiveUpAfter = 5 * time.Minute
)

// healthyRun is how long a group must have been ready to end a series of
// failures: its time to give up starts again.
const healthyRun = time.Minute

// processing runs the processor groups, each in its own loop, and knows
// the state of each: what the processor's /readyz reports.
type processing struct {
	c      Config
	states *states
	// web shows each group's current processor on goka's pages.
	web *gokaWeb
	// full is set while the state directory's free space is below the
	// floor; the groups stop consuming until it is back.
	mu   sync.Mutex
	full bool
}

func newProcessing(c Config) *processing {
	return &processing{c: c, states: newStates(), web: newGokaWeb()}
}

// checks returns the state of each group, of the lag and of the disk.
func (p *processing) checks() map[string]api.Check {
	checks := map[string]api.Check{}
	for _, g := range topology.Graphs() {
		checks["processor "+string(g.Group())] = p.states.check(string(g.Group()))
	}
	for _, name := range []string{"lag", "disk"} {
		checks["processor "+name] = p.states.check(name)
	}
	return checks
}

// run runs every group of topology.Graphs until ctx is done or one of
// them gives up.
func (p *processing) run(ctx context.Context) error {
	c := p.c
	groups, err := groupBuilders(c)
	if err != nil {
		return err
	}
	startLags(c.Kafka.Partitions)
	p.states.set("lag", api.Ready)
	// Measured before any group starts: a process started again on a
	// full disk (RocksDB aborts it when the disk fills faster than the
	// floor is checked) waits at the floor rather than open its tables
	// there and abort again.
	floor := &disk.Floor{Min: c.MinFree}
	p.checkDisk(floor)
	g, ctx := errgroup.WithContext(ctx)
	for _, group := range groups {
		g.Go(func() error { return p.loop(ctx, group.graph, group.create) })
	}
	g.Go(func() error { p.watchDisk(ctx, floor); return nil })
	g.Go(func() error { p.watchLag(ctx); return nil })
	return g.Wait()
}

// groupToRun is a graph of the topology and how to build its processor.
type groupToRun struct {
	graph  *goka.GroupGraph
	create groupBuilder
}

// groupBuilders returns every group of topology.Graphs, in its order, with
// the builder processors.Groups has for it, configured from c. A graph
// without a builder is an error before any group starts: run would
// otherwise leave it unprocessed.
func groupBuilders(c Config) ([]groupToRun, error) {
	builders := processors.Groups(processors.Config{
		MaxAmount: c.MaxAmount, MaxOverdraft: c.MaxOverdraft, Bounds: c.bounds(), Out: c.Out,
	})
	var groups []groupToRun
	for _, graph := range topology.Graphs() {
		build, ok := builders[graph.Group()]
		if !ok {
			return nil, fmt.Errorf("group %s of the topology has no builder in processors.Groups", graph.Group())
		}
		groups = append(groups, groupToRun{graph: graph, create: func(opts []goka.ProcessorOption) (*goka.Processor, error) {
			return build(c.Kafka.Brokers, opts...)
		}})
	}
	return groups, nil
}

// bounds returns the bounds by which the processors and views refuse what
// no processor wrote: the partitions, and the end of each input
// partition, read from Kafka.
func (c Config) bounds() processors.Bounds {
	return processors.Bounds{
		Partitions: c.Kafka.Partitions,
		End: func(topic goka.Stream, partition int32) (int64, error) {
			return c.Kafka.EndOffset(string(topic), partition)
		},
	}
}

// groupBuilder creates a group's processor with opts.
type groupBuilder func(opts []goka.ProcessorOption) (*goka.Processor, error)

// loop runs one group until ctx is done. When the group stops on an error
// (the broker went away, a table could not be read) it is started again
// after a pause, alone: the other groups go on. goka stops a processor
// whole when one of its partitions fails, so a bad partition stops its
// group's partitions in this process, and no more. The pause doubles
// while the group fails before it is ready, and starts again at a second
// once it has been ready: two leader moves a minute apart each cost the
// shortest pause. A group failing for longer than GiveUpAfter without a
// healthy run in between ends the process with the last error, so that
// its supervisor sees it.
func (p *processing) loop(ctx context.Context, graph *goka.GroupGraph, create groupBuilder) error {
	name := string(graph.Group())
	const maxPause = 10 * time.Second
	pause := time.Second
	var failingSince time.Time
	for {
		if !p.waitForDisk(ctx, name) {
			return nil
		}
		started := time.Now()
		ready, err := p.runOnce(ctx, graph, create)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil { // stopped for the disk floor
			continue
		}
		if ready > 0 {
			pause = time.Second
		}
		if ready > healthyRun {
			failingSince = time.Time{}
		}
		if failingSince.IsZero() {
			failingSince = started
		}
		if failing := time.Since(failingSince); failing > p.c.GiveUpAfter {
			p.states.set(name, "failed")
			return fmt.Errorf("%s has failed for %s without a healthy run (-give-up-after %s); last error: %w",
				name, failing.Round(time.Second), p.c.GiveUpAfter, err)
		}
		p.states.set(name, "restarting after an error: "+err.Error())
		slog.Error("processor group stopped; starting it again", "group", name, "error", err, "in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// runOnce runs one processor of the group until ctx is done, it fails, or
// the disk reaches its floor (then it returns a nil error). ready is how
// long it was ready, processing its input: zero if it never was. Each run
// has transactions of its own (kafka.Transactions).
func (p *processing) runOnce(ctx context.Context, graph *goka.GroupGraph, create groupBuilder) (ready time.Duration, err error) {
	c := p.c
	group := graph.Group()
	txns, err := kafka.NewTransactions(c.Kafka, graph, c.CommitInterval)
	if err != nil {
		return 0, err
	}
	proc, err := create(txns.Options(rocksdb.Builder(c.State, c.Storage)))
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", group, err)
	}
	p.web.setProcessor(group, proc)
	defer p.web.dropProcessor(group, proc)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- wrap(string(group), proc.Run(ctx)) }()
	var runningSince time.Time
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if runningSince.IsZero() {
				return 0, err
			}
			return time.Since(runningSince), err
		case <-tick.C:
		}
		state := processorState(proc.StateReader().State())
		if state == api.Ready && runningSince.IsZero() {
			runningSince = time.Now()
		}
		p.states.set(string(group), state)
		if p.diskFull() {
			stop()
			<-done
			return 0, nil
		}
	}
}

// processorState says what a goka processor is doing.
func processorState(s goka.State) string {
	switch s {
	case goka.ProcStateRunning:
		return api.Ready
	case goka.ProcStateSetup:
		return "recovering its tables"
	case goka.ProcStateStopping, goka.ProcStateStopped:
		return "stopping"
	}
	return "starting"
}

func (p *processing) diskFull() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.full
}

// waitForDisk returns once the state directory has room, or false when
// ctx is done first.
func (p *processing) waitForDisk(ctx context.Context, group string) bool {
	for p.diskFull() {
		p.states.set(group, stoppedForDisk)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
	return ctx.Err() == nil
}

// watchDisk measures the space under the state directory every second:
// below the floor the groups stop consuming, before RocksDB fails on a
// full disk (Debian's build aborts the process on an assertion), and start
// again by themselves when space is back.
func (p *processing) watchDisk(ctx context.Context, f *disk.Floor) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.checkDisk(f)
	}
}

// checkDisk measures the space under the state directory once, and tells
// the groups whether to stop or start.
func (p *processing) checkDisk(f *disk.Floor) {
	s, err := disk.Measure(p.c.State)
	if err != nil {
		p.states.set("disk", "unknown: "+err.Error())
		return
	}
	full := f.Update(s, p.stopped())
	if full {
		// Not the free space of the moment: one line per change of
		// state, not one a second.
		p.states.set("disk", fmt.Sprintf("full: %d bytes free under %s, below the floor of %d (-min-free); consuming stopped until %d are free",
			f.FreeAtStop(), p.c.State, f.Min, f.Need()))
	} else {
		p.states.set("disk", api.Ready)
	}
	p.mu.Lock()
	p.full = full
	p.mu.Unlock()
}

// stopped reports whether every group has stopped for the disk.
func (p *processing) stopped() bool {
	for _, g := range topology.Graphs() {
		if p.states.check(string(g.Group()))() != stoppedForDisk {
			return false
		}
	}
	return true
}

// stoppedForDisk is the state of a group stopped at the disk floor.
const stoppedForDisk = "stopped: the disk is full"

// watchLag reads every group's lag every few seconds, sets the
// wallet_consumer_lag_messages gauge from it, and reports the partitions
// whose lag stood still for longer than StallAfter: processing has stopped
// there, whatever the processes' states say (a member that holds
// partitions and is gone, a callback that never returns).
func (p *processing) watchLag(ctx context.Context) {
	every := min(p.c.StallAfter/4, 10*time.Second)
	w := stallWatch{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		lags, err := p.c.Kafka.Lags()
		if err != nil {
			p.states.set("lag", "unknown: "+err.Error())
			continue
		}
		recordLags(lags)
		if stalled := w.update(lags, time.Now(), p.c.StallAfter); len(stalled) > 0 {
			p.states.set("lag", "stalled: "+strings.Join(stalled, "; "))
		} else {
			p.states.set("lag", api.Ready)
		}
	}
}

// stallWatch remembers, for each input partition, the committed offset
// last seen and since when it has not moved.
type stallWatch map[kafka.Lag]time.Time

// update takes the lags read at now and returns the partitions whose lag
// has been above zero with the same committed offset for longer than
// after, described for a person.
func (w stallWatch) update(lags []kafka.Lag, now time.Time, after time.Duration) []string {
	seen := map[kafka.Lag]bool{}
	var stalled []string
	for _, l := range lags {
		if l.Messages() == 0 {
			continue
		}
		key := l
		// The end moves on, and transactions open and close, while the
		// committed offset stands still.
		key.End, key.Open = 0, false
		seen[key] = true
		since, ok := w[key]
		if !ok {
			w[key] = now
			continue
		}
		if now.Sub(since) > after {
			stalled = append(stalled, fmt.Sprintf("%s %s/%d at offset %d with %d behind for %s",
				l.Group, l.Topic, l.Partition, l.Committed, l.Messages(), now.Sub(since).Round(time.Second)))
		}
	}
	for key := range w {
		if !seen[key] {
			delete(w, key)
		}
	}
	sort.Strings(stalled)
	return stalled
}

// states holds a state for each named part of a process, and logs one
// line when one changes, not one per retry.
type states struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *states) set(name, state string) {
	s.mu.Lock()
	old, ok := s.m[name]
	s.m[name] = state
	s.mu.Unlock()
	if ok && old == state {
		return
	}
	if state == api.Ready {
		slog.Info("ready", "part", name)
	} else {
		slog.Warn("not ready", "part", name, "state", state)
	}
}

func newStates() *states { return &states{m: map[string]string{}} }

// check returns the check of the state of name: "starting" until one is
// set.
func (s *states) check(name string) api.Check {
	return func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		if state, ok := s.m[name]; ok {
			return state
		}
		return "starting"
	}
}

// watchKafka pings Kafka every few seconds until ctx is done and keeps the
// answer as the state "kafka" in s: what an API's /readyz reports of it.
func watchKafka(ctx context.Context, c Config, s *states) {
	for {
		if err := c.Kafka.Ping(); err != nil {
			s.set("kafka", "unreachable: "+err.Error())
		} else {
			s.set("kafka", api.Ready)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}
