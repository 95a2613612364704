package run_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// clusterScript starts, stops and kills the nodes of the cluster in
// KAFKA_CLUSTER; node N is broker N.
const clusterScript = "../scripts/kafka/cluster.sh"

// TestLeaderMoves measures what moving the leaders of the wallet's
// partitions costs (issue 19, part 2), on the 3-node cluster of
// scripts/kafka/cluster.sh:
//
//	scripts/kafka/cluster.sh start
//	KAFKA_CLUSTER=127.0.0.1:9094,127.0.0.1:9095,127.0.0.1:9096 go test -count=1 -v -run TestLeaderMoves ./run/
//	scripts/kafka/cluster.sh stop
//
// With transfers posted all along, after a window with no event to
// compare with, the node that leads most of the wallet's partitions is
// stopped gracefully (a controlled shutdown), started again and given its
// leaders back (a preferred leader election); then killed with -9,
// started again and given its leaders back. KAFKA_CLUSTER_MOVES lists the
// moves (default "stop,kill"; "stop,kill,kill,kill" kills three times).
// For each step it logs the seconds of 503s, the emitter's errors by kind,
// how long each processor group was not processing, its restarts and what
// sarama did (docs/LEADERS.md). It asserts the books (every transfer
// answered 201 applied once) and what issue 19 asks of each move
// (window.check). Set KAFKA_CLUSTER_LOG to a file to keep every log line
// it captured.
func TestLeaderMoves(t *testing.T) {
	env := os.Getenv("KAFKA_CLUSTER")
	if env == "" {
		t.Skip("needs the 3-node cluster of scripts/kafka/cluster.sh in KAFKA_CLUSTER (docs/LEADERS.md)")
	}
	brokers := kafka.ParseBrokers(env)
	logs := recordLogs(t)
	c := config(t, brokers, 2)
	c.Kafka.Replication, c.Kafka.MinInsyncReplicas = 3, 2
	meta := newClusterWatch(t, brokers)
	start(t, c, run.Processors)
	cl := startAPIs(t, c)
	accounts := names("leader-", 48)
	signUp(t, cl, maxOverdraft, accounts...)

	tr := startTraffic(t, cl, accounts, maxOverdraft, 3, false)
	time.Sleep(15 * time.Second) // the groups settle, and commit under load
	// What the traffic costs with no leader moving, to compare with.
	windows := []window{meta.windowed("no event (baseline)", 15*time.Second, func() time.Duration { return 0 })}
	moves := strings.Split(cmp.Or(os.Getenv("KAFKA_CLUSTER_MOVES"), "stop,kill"), ",")
	for _, move := range moves {
		if move != "stop" && move != "kill" {
			t.Fatalf("KAFKA_CLUSTER_MOVES=%s: each move is stop or kill", os.Getenv("KAFKA_CLUSTER_MOVES"))
		}
		victim := meta.busiestLeader()
		var led []string
		for _, p := range meta.ledBy(victim) {
			led = append(led, fmt.Sprintf("%s/%d", p.topic, p.partition))
		}
		t.Logf("node %d leads %s; %s", victim, strings.Join(led, " "), meta.coordinators(victim))
		windows = append(windows, meta.takeDown(move, victim), meta.bringBack(victim), meta.electPreferred(victim))
	}
	want, sent := tr.end(&ledger.Ledger{})
	t.Logf("%d transfers accepted; checking the books", len(sent))
	checkBooks(t, c, cl, want, sent...)

	for _, w := range windows {
		t.Log(w.report(tr, logs))
		w.check(t, tr, logs)
	}
	logs.save(t)
}

// killMargin is how much longer than Kafka's election POSTs may fail after
// a kill: a message waits for the metadata that names the new leader,
// and the emitter retries at most a second apart.
const killMargin = 3 * time.Second

// check fails the test if the window cost more than the issue allows: a
// graceful move, or a node starting again, no failed POST and no group
// restarted; a kill no group restarted, and POSTs failing no longer than
// Kafka took to elect new leaders, and a margin.
func (w window) check(t *testing.T, tr *traffic, logs *logRecorder) {
	t.Helper()
	c := tr.costs(w.from, w.to)
	restarts := logs.failures(w.from, w.to, "processor group stopped; starting it again")
	if len(restarts) > 0 {
		t.Errorf("%s: groups restarted: %s", w.name, counts(restarts))
	}
	switch {
	case !w.killed && c.failed > 0:
		t.Errorf("%s: %d POSTs failed, want none", w.name, c.failed)
	case w.killed && c.failing > w.moved+killMargin:
		t.Errorf("%s: POSTs failed for %.1fs, longer than Kafka's election (%.1fs) and %s", w.name, c.failing.Seconds(), w.moved.Seconds(), killMargin)
	}
}

// window is a stretch of the test after one event, whose costs are
// reported.
type window struct {
	name     string
	from, to time.Time
	// killed says that a node was killed: every other window's event is
	// graceful.
	killed bool
	// moved is how long Kafka took to move the leaders, where measured.
	moved time.Duration
	// recovered is how many changelog records the processors read to
	// recover their tables in the window.
	recovered int64
}

// report describes what the window cost.
func (w window) report(tr *traffic, logs *logRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s):", w.name, w.to.Sub(w.from).Round(time.Second))
	if w.moved > 0 {
		fmt.Fprintf(&b, " leaders moved after %.1fs;", w.moved.Seconds())
	}
	fmt.Fprintf(&b, "\n  POSTs: %s", tr.costs(w.from, w.to))
	fmt.Fprintf(&b, "\n  emitter errors: %s", counts(logs.failures(w.from, w.to, "transfer not acknowledged by Kafka", "claim not acknowledged by Kafka")))
	fmt.Fprintf(&b, "\n  groups not processing: %s", logs.downtime(w.from, w.to))
	fmt.Fprintf(&b, "\n  group restarts: %s", counts(logs.failures(w.from, w.to, "processor group stopped; starting it again")))
	fmt.Fprintf(&b, "\n  transactions sent again: %s", counts(logs.failures(w.from, w.to, "transaction failed; aborting it and sending it again")))
	fmt.Fprintf(&b, "\n  producers initialised (a group's session that starts again initialises one per partition): %s; changelog records recovered: %d", counts(logs.inits(w.from, w.to)), w.recovered)
	fmt.Fprintf(&b, "\n  sarama: %s", counts(top(logs.sarama(w.from, w.to), 8)))
	return b.String()
}

// top returns the n largest counts of m.
func top(m map[string]int, n int) map[string]int {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	out := map[string]int{}
	for _, k := range keys[:min(n, len(keys))] {
		out[k] = m[k]
	}
	return out
}

// counts lists the counts of m, largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", m[k], k))
	}
	return strings.Join(parts, "; ")
}

// clusterWatch reads the cluster's metadata, and moves its leaders.
type clusterWatch struct {
	t  *testing.T
	cl *kgo.Client
}

func newClusterWatch(t *testing.T, brokers []string) *clusterWatch {
	t.Helper()
	cl, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &clusterWatch{t: t, cl: cl}
}

// partitionState is a partition's leader and in-sync replicas.
type partitionState struct {
	topic     string
	partition int32
	leader    int32
	replicas  []int32
	isr       []int32
}

// partitions reads every partition of every topic, the internal ones
// included.
func (m *clusterWatch) partitions() ([]partitionState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, m.cl)
	if err != nil {
		return nil, err
	}
	var out []partitionState
	for _, topic := range resp.Topics {
		for _, p := range topic.Partitions {
			out = append(out, partitionState{topic: *topic.Topic, partition: p.Partition, leader: p.Leader, replicas: p.Replicas, isr: p.ISR})
		}
	}
	return out, nil
}

// walletPartitions reads the partitions of the wallet's topics.
func (m *clusterWatch) walletPartitions() []partitionState {
	all, err := m.partitions()
	if err != nil {
		m.t.Fatalf("read the metadata: %v", err)
	}
	var out []partitionState
	for _, p := range all {
		if slices.ContainsFunc(topology.Topics(), func(t topology.Topic) bool { return t.Name == p.topic }) {
			out = append(out, p)
		}
	}
	return out
}

// ledBy returns the wallet's partitions that node leads.
func (m *clusterWatch) ledBy(node int32) []partitionState {
	var out []partitionState
	for _, p := range m.walletPartitions() {
		if p.leader == node {
			out = append(out, p)
		}
	}
	return out
}

// busiestLeader returns the node that leads most of the wallet's
// partitions; of equals, the leader of the first partition of the
// transfer requests, which the API writes.
func (m *clusterWatch) busiestLeader() int32 {
	led := map[int32]int{}
	var first int32
	for _, p := range m.walletPartitions() {
		led[p.leader]++
		if p.topic == string(topology.TransferRequests) && p.partition == 0 {
			first = p.leader
		}
	}
	best := first
	for node, n := range led {
		if n > led[best] {
			best = node
		}
	}
	return best
}

// coordinators says which of the processors' coordinators node is: of
// their groups, and of their partitions' transactions.
func (m *clusterWatch) coordinators(node int32) string {
	var groups, txns []string
	for _, g := range topology.Graphs() {
		groups = append(groups, string(g.Group()))
		for p := range 2 {
			txns = append(txns, fmt.Sprintf("%s%d", kafka.TransactionalIDPrefix(g.Group()), p))
		}
	}
	find := func(kind int8, keys []string) []string {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKeys = kind, keys
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, m.cl)
		if err != nil {
			return []string{err.Error()}
		}
		var mine []string
		for _, c := range resp.Coordinators {
			if c.NodeID == node {
				mine = append(mine, c.Key)
			}
		}
		return mine
	}
	return fmt.Sprintf("it coordinates the groups %v and the transactions %v", find(0, groups), find(1, txns))
}

// waitFor polls the metadata until ok is true of it, and returns how long
// that took; it fails the test after timeout.
func (m *clusterWatch) waitFor(what string, timeout time.Duration, ok func([]partitionState) bool) time.Duration {
	began := time.Now()
	for {
		ps, err := m.partitions()
		if err == nil && ok(ps) {
			return time.Since(began)
		}
		if time.Since(began) > timeout {
			m.t.Fatalf("%s: not within %s (last error: %v)", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cluster runs scripts/kafka/cluster.sh with args.
func (m *clusterWatch) cluster(args ...string) {
	m.clusterStart(args...)()
}

// clusterStart starts scripts/kafka/cluster.sh with args, and returns a
// function that waits for it to end.
func (m *clusterWatch) clusterStart(args ...string) (wait func()) {
	var out strings.Builder
	cmd := exec.Command(clusterScript, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("%s %s: %v", clusterScript, strings.Join(args, " "), err)
	}
	return func() {
		if err := cmd.Wait(); err != nil {
			m.t.Fatalf("%s %s: %v\n%s", clusterScript, strings.Join(args, " "), err, out.String())
		}
	}
}

// windowed runs event, then lets traffic go on for at least dwell after it
// began, and returns the window.
func (m *clusterWatch) windowed(name string, dwell time.Duration, event func() time.Duration) window {
	w := window{name: name, from: time.Now()}
	before := processors.RecoveredRecords()
	w.moved = event()
	time.Sleep(time.Until(w.from.Add(dwell)))
	w.to = time.Now()
	w.recovered = processors.RecoveredRecords() - before
	return w
}

// takeDown stops node gracefully (move "stop") or kills it (move "kill"),
// and measures how long Kafka took to give its partitions other leaders.
func (m *clusterWatch) takeDown(move string, node int32) window {
	name := fmt.Sprintf("node %d stopped gracefully", node)
	if move == "kill" {
		name = fmt.Sprintf("node %d killed (-9)", node)
	}
	w := m.windowed(name, 25*time.Second, func() time.Duration {
		began := time.Now()
		// The leaders are watched while the script runs: a controlled
		// shutdown moves them before the node exits.
		wait := m.clusterStart(move, strconv.Itoa(int(node)))
		defer wait()
		m.waitFor("the leaders move off node "+strconv.Itoa(int(node)), time.Minute, func(ps []partitionState) bool {
			for _, p := range ps {
				if p.leader == node || p.leader < 0 {
					return false
				}
			}
			return true
		})
		return time.Since(began)
	})
	w.killed = move == "kill"
	return w
}

// bringBack starts node again and waits until it is back in the in-sync
// replicas of every partition, so that taking any node down next leaves
// two in sync.
func (m *clusterWatch) bringBack(node int32) window {
	return m.windowed(fmt.Sprintf("node %d started again", node), 15*time.Second, func() time.Duration {
		m.cluster("start", strconv.Itoa(int(node)))
		m.waitFor("every partition in sync on 3 replicas", 2*time.Minute, func(ps []partitionState) bool {
			for _, p := range ps {
				if len(p.isr) < len(p.replicas) {
					return false
				}
			}
			return true
		})
		return 0
	})
}

// electPreferred gives node back the leaders it prefers, as Kafka's
// automatic rebalance of leaders would within 5 minutes: a leader move
// with no node down.
func (m *clusterWatch) electPreferred(node int32) window {
	return m.windowed(fmt.Sprintf("preferred leaders elected (node %d leads again)", node), 15*time.Second, func() time.Duration {
		began := time.Now()
		req := kmsg.NewPtrElectLeadersRequest()
		req.TimeoutMillis = 30000 // Topics nil: every partition
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, m.cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			m.t.Fatalf("elect the preferred leaders: %v", err)
		}
		m.waitFor("the preferred leaders lead", time.Minute, func(ps []partitionState) bool {
			for _, p := range ps {
				if len(p.replicas) > 0 && p.leader != p.replicas[0] {
					return false
				}
			}
			return true
		})
		return time.Since(began)
	})
}

// cost is what the POSTs sent in a window cost.
type cost struct {
	sent, failed int // POSTs sent, and answered 503 or not at all
	// failing is how long POSTs failed: from the first failed one's
	// sending to the last one's answer.
	failing  time.Duration
	accepted int
	slowest  time.Duration // the longest a transfer waited to be accepted
}

func (c cost) String() string {
	s := fmt.Sprintf("%d sent, %d answered 503 or not at all", c.sent, c.failed)
	if c.failed > 0 {
		s += fmt.Sprintf(", failing for %.1fs", c.failing.Seconds())
	}
	return s + fmt.Sprintf("; %d transfers accepted, the slowest after %.1fs", c.accepted, c.slowest.Seconds())
}

// costs returns what the POSTs sent between from and to cost.
func (tr *traffic) costs(from, to time.Time) cost {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var c cost
	var first, last time.Time
	for _, a := range tr.attempts {
		if a.from.Before(from) || !a.from.Before(to) {
			continue
		}
		c.sent++
		if a.status == http.StatusCreated {
			continue
		}
		c.failed++
		if first.IsZero() {
			first = a.from
		}
		if a.to.After(last) {
			last = a.to
		}
	}
	c.failing = last.Sub(first)
	for _, a := range tr.accepted {
		if a[0].Before(from) || !a[0].Before(to) {
			continue
		}
		c.accepted++
		c.slowest = max(c.slowest, a[1].Sub(a[0]))
	}
	return c
}

// logRecorder keeps the wallet's log records (slog) and sarama's log lines
// while the test runs.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
	lines   []saramaLine
	stopped bool
}

type logRecord struct {
	at    time.Time
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

type saramaLine struct {
	at   time.Time
	text string
}

// recordLogs makes the default slog logger and sarama's logger write to
// a recorder, until the test ends.
func recordLogs(t *testing.T) *logRecorder {
	r := &logRecorder{}
	prev := slog.Default()
	slog.SetDefault(slog.New(recordingHandler{r: r}))
	// sarama's Logger is a global that its goroutines read without a
	// lock: it is set once and never put back, and stops recording when
	// the test ends.
	sarama.Logger = log.New(saramaWriter{r}, "", 0)
	t.Cleanup(func() {
		slog.SetDefault(prev)
		r.mu.Lock()
		r.stopped = true
		r.mu.Unlock()
	})
	return r
}

// recordingHandler is a slog.Handler that records into r.
type recordingHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordingHandler) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]slog.Value{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value
	}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value
		return true
	})
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if !h.r.stopped {
		h.r.records = append(h.r.records, logRecord{at: rec.Time, level: rec.Level, msg: rec.Message, attrs: attrs})
	}
	return nil
}

func (h recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordingHandler{r: h.r, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h recordingHandler) WithGroup(string) slog.Handler { return h }

// saramaWriter records the lines sarama logs.
type saramaWriter struct{ r *logRecorder }

func (w saramaWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	if !w.r.stopped {
		w.r.lines = append(w.r.lines, saramaLine{at: time.Now(), text: strings.TrimSpace(string(p))})
	}
	return len(p), nil
}

// failures counts, by kind, the errors of the records logged between from
// and to with one of msgs: for the processors' restarts, by group too.
func (r *logRecorder) failures(from, to time.Time, msgs ...string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, rec := range r.records {
		if rec.at.Before(from) || !rec.at.Before(to) || !slices.Contains(msgs, rec.msg) {
			continue
		}
		k := errorKind(rec.attrs["error"].Any())
		if g, ok := rec.attrs["group"]; ok {
			k = g.String() + ": " + k
		}
		out[k]++
	}
	return out
}

// errorKind names what err is: the Kafka error it carries, the send
// timeout, or its innermost message.
func errorKind(v any) string {
	err, ok := v.(error)
	if !ok {
		return fmt.Sprint(v)
	}
	var kerr sarama.KError
	switch {
	case errors.As(err, &kerr):
		return kerr.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "not acknowledged within the send timeout"
	}
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err.Error()
}

// downtime says, for each processor group, how long it was not ready
// between from and to, as the lines its state changes log tell: stopped,
// restarting, starting or recovering its tables.
func (r *logRecorder) downtime(from, to time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	down := map[string]time.Duration{}
	since := map[string]time.Time{}
	add := func(group string, a, b time.Time) {
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			down[group] += b.Sub(a)
		}
	}
	for _, rec := range r.records {
		group := rec.attrs["part"].String()
		if !slices.ContainsFunc(topology.Graphs(), func(g *goka.GroupGraph) bool { return string(g.Group()) == group }) {
			continue
		}
		switch rec.msg {
		case "not ready":
			if _, ok := since[group]; !ok {
				since[group] = rec.at
			}
		case "ready":
			if s, ok := since[group]; ok {
				add(group, s, rec.at)
				delete(since, group)
			}
		}
	}
	for group, s := range since {
		add(group, s, to)
	}
	if len(down) == 0 {
		return "none"
	}
	var parts []string
	for _, g := range topology.Graphs() {
		if d := down[string(g.Group())]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1fs", g.Group(), d.Seconds()))
		}
	}
	return strings.Join(parts, ", ")
}

// txnInit is what sarama logs when it initialises a producer: its
// transactional ID (none for the emitter's idempotent producer).
var txnInit = regexp.MustCompile(`txnmgr/init-producer-id \[(.*)\] obtained a ProducerId`)

// inits counts the producers initialised between from and to, by group:
// each restart of a partition's processing initialises its transactional
// producer again.
func (r *logRecorder) inits(from, to time.Time) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, l := range r.lines {
		if l.at.Before(from) || !l.at.Before(to) {
			continue
		}
		if m := txnInit.FindStringSubmatch(l.text); m != nil {
			id := m[1]
			if id == "" {
				id = "(idempotent)"
			} else if i := strings.LastIndex(id, "-"); i > 0 {
				id = id[:i]
			}
			out[id]++
		}
	}
	return out
}

// saramaEvents are the lines of sarama's log that tell what its producers
// did, and the name each is counted under.
var saramaEvents = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`rolling over epoch due to publish failure`), "idempotent epoch bumped (sequence numbers reset)"},
	{regexp.MustCompile(`state change to \[retrying\] on .* because (.*)`), "batch retried: $1"},
	{regexp.MustCompile(`producer/broker/\d+ state change to \[closing\] because (.*)`), "broker connection closed: $1"},
	{regexp.MustCompile(`detected epoch rollover`), "buffer rolled over for a new epoch"},
	{regexp.MustCompile(`txnmgr/(\S+) (?:\[.*?\] )?retrying after .*\((.*)\)$`), "transaction request retried: $1 ($2)"},
}

// sarama counts the events of sarama's log between from and to.
func (r *logRecorder) sarama(from, to time.Time) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, l := range r.lines {
		if l.at.Before(from) || !l.at.Before(to) {
			continue
		}
		for _, e := range saramaEvents {
			if m := e.re.FindStringSubmatchIndex(l.text); m != nil {
				out[string(e.re.ExpandString(nil, e.name, l.text, m))]++
				break
			}
		}
	}
	return out
}

// save writes every record and line to the file KAFKA_CLUSTER_LOG names,
// if set.
func (r *logRecorder) save(t *testing.T) {
	path := os.Getenv("KAFKA_CLUSTER_LOG")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		t.Errorf("keep the logs: %v", err)
		return
	}
	defer f.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []saramaLine
	for _, rec := range r.records {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", rec.level, rec.msg)
		for k, v := range rec.attrs {
			fmt.Fprintf(&b, " %s=%q", k, v.String())
		}
		lines = append(lines, saramaLine{at: rec.at, text: b.String()})
	}
	for _, l := range r.lines {
		lines = append(lines, saramaLine{at: l.at, text: "sarama " + l.text})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	for _, l := range lines {
		if _, err := io.WriteString(f, l.at.Format("15:04:05.000 ")+l.text+"\n"); err != nil {
			t.Errorf("keep the logs: %v", err)
			return
		}
	}
	t.Logf("every log line captured is in %s", path)
}
