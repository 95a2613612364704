package run_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// After a session, GET /metrics gives the counts a user would check: the
// transfers made final by status and reason, the signups, the POSTs
// answered 201 and the consumer lag. The metrics are the process's, and
// the test process runs many processors over the tests, so the test
// compares the counts before and after, on a broker of its own: on a
// shared cluster, the processors of another process could take the
// partitions and count its transfers there.
func TestMetricsAfterASession(t *testing.T) {
	c := config(t, embeddedBroker(t), 2)
	// The lag watcher reads every StallAfter/4: soon enough to see it.
	c.StallAfter = 4 * time.Second
	ready, _ := start(t, c, run.Processors)
	var processor *api.Client
	select {
	case addr := <-ready:
		processor = api.NewClient("http://" + addr)
	case <-time.After(30 * time.Second):
		t.Fatal("processors did not serve HTTP within 30s")
	}
	cl := startAPIs(t, c)
	cl.Wait = 30 * time.Second

	type series struct {
		side   api.Side
		from   *api.Client
		name   string
		labels map[string]string
		delta  float64
	}
	checks := []series{
		{api.WriteSide, processor, "wallet_transfers_total", map[string]string{"status": "completed"}, 3},
		{api.WriteSide, processor, "wallet_transfers_total", map[string]string{"status": "rejected", "reason": wallet.ReasonInsufficientFunds}, 1},
		{api.WriteSide, processor, "wallet_signups_total", map[string]string{"outcome": "won"}, 2},
		{api.WriteSide, cl, "wallet_http_requests_total", map[string]string{"route": "/api/v1/transfers", "code": "201"}, 3},
		{api.WriteSide, cl, "wallet_http_requests_total", map[string]string{"route": "/api/v1/deposits", "code": "201"}, 1},
		{api.WriteSide, cl, "wallet_transfer_completion_seconds", nil, 4},
	}
	metric := func(s series) float64 {
		t.Helper()
		v, err := s.from.Metric(context.Background(), s.side, s.name, s.labels)
		if err != nil {
			t.Fatalf("%s%v: %v", s.name, s.labels, err)
		}
		return v
	}
	before := make([]float64, len(checks))
	for i, s := range checks {
		before[i] = metric(s)
	}

	signUp(t, cl, wallet.Money{}, "Alice", "Bob")
	ctx := context.Background()
	if a, err := cl.Deposit(ctx, uuid.New(), "Alice", wallet.Cents(1000)); err != nil || a.Status != http.StatusCreated {
		t.Fatalf("deposit: %d %s %v", a.Status, a.Body, err)
	}
	for _, tr := range []struct {
		from, to string
		cents    int64
		status   wallet.Status
	}{
		{"Alice", "Bob", 300, wallet.Completed},
		{"Bob", "Alice", 100, wallet.Completed},
		{"Bob", "Alice", 500, wallet.Rejected}, // Bob has 2.00
	} {
		a, err := cl.PostTransfer(ctx, wallet.Transfer{RequestID: uuid.New(), From: tr.from, To: tr.to, Amount: wallet.Cents(tr.cents)})
		if err != nil || a.Status != http.StatusCreated {
			t.Fatalf("POST %s -> %s: %d %s %v", tr.from, tr.to, a.Status, a.Body, err)
		}
		if got, err := a.TransferResponse(); err != nil || got.Status != tr.status {
			t.Fatalf("POST %s -> %s: %s %v, want %s", tr.from, tr.to, a.Body, err, tr.status)
		}
	}

	for i, s := range checks {
		if got := metric(s) - before[i]; got != s.delta {
			t.Errorf("%s%v went up by %v, want %v", s.name, s.labels, got, s.delta)
		}
	}

	// A lag series per group and input partition (there from the start,
	// TestMetricsFromTheFirstScrape, and set by the lag watcher since).
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := scrape(t, processor.URL)
		if strings.Contains(body, `wallet_consumer_lag_messages{group="accountant",partition="1",topic="wallet.payment"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lag of the accountant on wallet.payment/1 after 30s:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scrape returns the text of base's GET /metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// TestMetricsFromTheFirstScrape scrapes a processor process freshly
// started, once it is ready and before any event: every series it can
// count is there at zero, so that increase() sees the first event and an
// alert on the first dead letter fires. The registry is the process's, and
// this test process has run services already, so the processors run in a
// process of their own (TestMetricsChild).
func TestMetricsFromTheFirstScrape(t *testing.T) {
	const partitions = 2
	brokers := embeddedBroker(t)
	base := metricsChild(t, brokers, partitions)
	waitReadiness(t, base, http.StatusOK, 2*time.Minute)

	type series struct {
		name   string
		labels map[string]string
	}
	want := []series{
		{"wallet_transfers_total", map[string]string{"status": string(wallet.Completed), "reason": ""}},
		{"wallet_transfers_total", map[string]string{"status": string(wallet.Rejected), "reason": wallet.ReasonInsufficientFunds}},
		{"wallet_transfers_total", map[string]string{"status": string(wallet.Rejected), "reason": wallet.ReasonAccountNotFound}},
		{"wallet_signups_total", map[string]string{"outcome": "won", "decided_by": "group"}},
		{"wallet_signups_total", map[string]string{"outcome": "taken", "decided_by": "group"}},
		{"wallet_signups_total", map[string]string{"outcome": "taken", "decided_by": "view"}},
		{"wallet_instructions_total", map[string]string{"result": "applied"}},
		{"wallet_instructions_total", map[string]string{"result": "replayed"}},
	}
	for _, kind := range []string{"recovered", "stale", "undecodable", "forged"} {
		want = append(want, series{"wallet_table_records_total", map[string]string{"kind": kind}})
	}
	for _, reason := range []string{"missing", "malformed", "unknown", "forbidden", "throttled"} {
		want = append(want, series{"wallet_auth_failures_total", map[string]string{"reason": reason}})
	}
	topics := map[goka.Stream]bool{}
	for _, in := range topology.Inputs() {
		if !topics[in.Topic] {
			topics[in.Topic] = true
			want = append(want, series{"wallet_dead_letters_total", map[string]string{"topic": string(in.Topic)}})
		}
		for p := range partitions {
			want = append(want, series{"wallet_consumer_lag_messages", map[string]string{
				"group": string(in.Group), "topic": string(in.Topic), "partition": strconv.Itoa(p)}})
		}
	}
	got := parseSeries(t, scrape(t, base))
	for _, s := range want {
		if v, ok := got[seriesKey(s.name, s.labels)]; !ok {
			t.Errorf("%s is not in the first scrape", seriesKey(s.name, s.labels))
		} else if v != 0 {
			t.Errorf("%s = %v in the first scrape, before any event; want 0", seriesKey(s.name, s.labels), v)
		}
	}

	// The first dead letter takes its series from 0 to 1.
	raw, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poison := &kgo.Record{Topic: string(topology.TransferRequests), Key: []byte(uuid.NewString()), Value: []byte("not json")}
	if err := raw.ProduceSync(ctx, poison).FirstErr(); err != nil {
		t.Fatalf("produce poison: %v", err)
	}
	dead := seriesKey("wallet_dead_letters_total", map[string]string{"topic": string(topology.TransferRequests)})
	deadline := time.Now().Add(time.Minute)
	for {
		v := parseSeries(t, scrape(t, base))[dead]
		if v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v a minute after one poison message, want 1", dead, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metricsChildEnv holds the brokers of the processors that TestMetricsChild
// runs, when TestMetricsFromTheFirstScrape starts it.
const metricsChildEnv = "WALLET_RUN_TEST_METRICS_BROKERS"

// TestMetricsChild is the process of its own of
// TestMetricsFromTheFirstScrape: it runs the processors on the brokers in
// metricsChildEnv, prints their HTTP address, and stops when its standard
// input closes. Started any other way, it does nothing.
func TestMetricsChild(t *testing.T) {
	brokers := os.Getenv(metricsChildEnv)
	if brokers == "" {
		t.Skip("the processors of TestMetricsFromTheFirstScrape, started by it")
	}
	partitions, err := strconv.Atoi(os.Getenv(metricsChildEnv + "_PARTITIONS"))
	if err != nil {
		t.Fatal(err)
	}
	ready, _ := start(t, config(t, kafka.ParseBrokers(brokers), partitions), run.Processors)
	select {
	case addr := <-ready:
		fmt.Printf("%s %s\n", metricsChildEnv, addr)
	case <-time.After(time.Minute):
		t.Fatal("processors did not serve HTTP within a minute")
	}
	io.Copy(io.Discard, os.Stdin)
}

// metricsChild starts TestMetricsChild in a process of its own on brokers
// and returns the base URL of its processors' HTTP server. The process
// stops when the test ends; its log is the test's if the test fails.
func metricsChild(t *testing.T, brokers []string, partitions int) string {
	t.Helper()
	logs, err := os.Create(filepath.Join(t.TempDir(), "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMetricsChild$", "-test.v")
	cmd.Env = append(os.Environ(),
		metricsChildEnv+"="+strings.Join(brokers, ","),
		metricsChildEnv+"_PARTITIONS="+strconv.Itoa(partitions))
	cmd.Stderr = logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the processors' process: %v", err)
	}
	addr := make(chan string, 1)
	read := make(chan struct{}) // closed once its output has ended
	go func() {
		defer close(read)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), metricsChildEnv+" "); ok {
				addr <- a
			}
			fmt.Fprintln(logs, lines.Text())
		}
	}()
	t.Cleanup(func() {
		// Closing its input stops it, cleaning up after itself.
		stdin.Close()
		select {
		case <-read:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-read
		}
		cmd.Wait()
		logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("processors' process %d:\n%s", cmd.Process.Pid, b)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-read:
		t.Fatal("the processors' process ended before serving HTTP")
		return ""
	case <-time.After(2 * time.Minute):
		t.Fatal("the processors' process did not serve HTTP within 2 minutes")
		return ""
	}
}

// parseSeries returns the value of every series of a scrape, by
// seriesKey.
func parseSeries(t *testing.T, body string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(prommodel.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	values := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				values[seriesKey(name, labels)] = m.Counter.GetValue()
			case m.Gauge != nil:
				values[seriesKey(name, labels)] = m.Gauge.GetValue()
			}
		}
	}
	return values
}

// seriesKey names a series as Prometheus writes it: its name and its
// labels in order, name{a="1",b="2"}.
func seriesKey(name string, labels map[string]string) string {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(pairs, ",") + "}"
}
