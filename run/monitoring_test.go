package run_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.yaml.in/yaml/v4"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// The monitoring of docker/docker-compose.yml's profile monitoring
// (README, "Dashboard and alerts"), relative to this package.
const (
	promDir        = "../docker/prometheus"
	dashboardsDir  = "../docker/grafana/dashboards"
	composeFile    = "../docker/docker-compose.yml"
	readmeFile     = "../README.md"
	blackboxConfig = promDir + "/blackbox.yml"
)

// notFromTheWallet are the metrics the queries may use that no wallet
// process serves, with the labels each has: Prometheus' own (up for each
// scrape, ALERTS for each alert, whose labels are the alert's) and the
// blackbox exporter's probes of /readyz (docker/prometheus/blackbox.yml).
// nil labels: any.
var notFromTheWallet = map[string][]string{
	"up":                        {"job", "instance"},
	"ALERTS":                    nil,
	"probe_success":             {"job", "instance"},
	"probe_failed_due_to_regex": {"job", "instance"},
}

// targetLabels are the labels Prometheus adds to every series it scrapes.
var targetLabels = []string{"job", "instance"}

// Every query of the dashboard and of the alerting rules parses with
// Prometheus' own parser and selects only metrics and labels that the
// wallet serves (cmd/wallet's wiring, run.All, after a session that signs
// up, deposits, transfers, withdraws, fails to authenticate and
// dead-letters), or that Prometheus and the blackbox exporter make. An
// equality matcher, and each alternative of a matcher that is a list of
// literals (kind=~"undecodable|forged"), names a value that the scrape
// has; a job is one of prometheus.yml's; grouping labels and legends name
// labels that the series have. A metric renamed in the code, or a typo
// in a query, fails here rather than leaving a panel empty.
func TestMonitoringQueriesMatchTheMetrics(t *testing.T) {
	queries := monitoringQueries(t)
	if len(queries) < 20 {
		t.Fatalf("found %d queries in the dashboards and rules, want 20 or more", len(queries))
	}
	scrape, readyz := sessionScrape(t)
	jobs := prometheusJobs(t)
	alerts := alertNames(t)

	for _, q := range queries {
		t.Run(q.where, func(t *testing.T) {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
			if err != nil {
				t.Fatalf("%s does not parse: %v", q.expr, err)
			}
			labelsOf := func(vs *parser.VectorSelector) []string {
				if l, ok := notFromTheWallet[vs.Name]; ok {
					return l
				}
				return append(slices.Sorted(maps.Keys(scrape[vs.Name])), targetLabels...)
			}
			parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
				switch n := node.(type) {
				case *parser.VectorSelector:
					checkSelector(t, n, scrape, labelsOf(n), jobs, alerts)
				case *parser.AggregateExpr:
					if !n.Without {
						checkLabelsExist(t, n, n.Grouping, n.Expr, labelsOf)
					}
				case *parser.BinaryExpr:
					if m := n.VectorMatching; m != nil && m.On {
						checkLabelsExist(t, n, m.MatchingLabels, n, labelsOf)
					}
				}
				return nil
			})
			checkLegend(t, q.legend, expr, labelsOf)
		})
	}

	// The disk floor's pattern (blackbox.yml) matches /readyz when the
	// processors' disk check says full, and not when it is ready.
	t.Run("blackbox disk pattern", func(t *testing.T) {
		const ready = `"processor disk":"ready"`
		if !strings.Contains(readyz, ready) {
			t.Fatalf("GET /readyz of cmd/wallet has no %s (was the check renamed? blackbox.yml looks for it): %s", ready, readyz)
		}
		full := strings.Replace(readyz, ready, `"processor disk":"full: 1 bytes free under /state, below the floor of 2 (-min-free); consuming stopped until 3 are free"`, 1)
		var bb struct {
			Modules map[string]struct {
				HTTP struct {
					FailIfBodyMatches []string `yaml:"fail_if_body_matches_regexp"`
				} `yaml:"http"`
			} `yaml:"modules"`
		}
		readYAML(t, blackboxConfig, &bb)
		patterns := bb.Modules["disk"].HTTP.FailIfBodyMatches
		if len(patterns) == 0 {
			t.Fatalf("%s: the module disk has no fail_if_body_matches_regexp", blackboxConfig)
		}
		for _, p := range patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				t.Fatalf("%s: %v", blackboxConfig, err)
			}
			if re.MatchString(readyz) {
				t.Errorf("%s matches a ready /readyz: %s", p, readyz)
			}
			if !re.MatchString(full) {
				t.Errorf("%s does not match a /readyz at the disk floor: %s", p, full)
			}
		}
	})
}

// checkSelector checks that vs selects a metric that exists, with labels
// it has, and values that exist where they can be checked.
func checkSelector(t *testing.T, vs *parser.VectorSelector, scrape map[string]map[string]map[string]bool, labels []string, jobs, alerts []string) {
	t.Helper()
	if vs.Name == "" {
		t.Errorf("%s: a selector without a metric name", vs)
		return
	}
	_, other := notFromTheWallet[vs.Name]
	values, served := scrape[vs.Name]
	if !other && !served {
		var wallets []string
		for name := range scrape {
			if strings.HasPrefix(name, "wallet_") {
				wallets = append(wallets, name)
			}
		}
		slices.Sort(wallets)
		t.Errorf("%s: no wallet process serves %s (a /metrics scrape of cmd/wallet after a session has %s, and go_*, process_*)", vs, vs.Name, strings.Join(wallets, ", "))
		return
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == prommodel.MetricNameLabel {
			continue
		}
		if labels != nil && !slices.Contains(labels, m.Name) {
			t.Errorf("%s: %s has no label %s (it has %s)", vs, vs.Name, m.Name, strings.Join(labels, ", "))
			continue
		}
		var known []string
		switch {
		case m.Name == "job":
			known = jobs
		case vs.Name == "ALERTS" && m.Name == "alertname":
			known = alerts
		case vs.Name == "ALERTS" && m.Name == "alertstate":
			known = []string{"pending", "firing"}
		case served:
			known = slices.Sorted(maps.Keys(values[m.Name]))
		default:
			continue
		}
		for _, v := range literals(m.Type.String(), m.Value) {
			if !slices.Contains(known, v) {
				t.Errorf("%s: %s is never %q (it is %s)", vs, m.Name, v, strings.Join(known, ", "))
			}
		}
	}
}

// literals returns the values that a matcher of type op (=, !=, =~, !~)
// names one by one: the value of = and !=, each alternative of a regular
// expression that is a list of literals, and none otherwise.
func literals(op, value string) []string {
	if op == "=" || op == "!=" {
		return []string{value}
	}
	alts := strings.Split(value, "|")
	for _, a := range alts {
		if a == "" || regexp.QuoteMeta(a) != a {
			return nil
		}
	}
	return alts
}

// checkLabelsExist checks that each of labels (of in's by or on clause)
// is a label of some series that expr selects.
func checkLabelsExist(t *testing.T, in parser.Node, labels []string, expr parser.Node, labelsOf func(*parser.VectorSelector) []string) {
	t.Helper()
	have, anyLabel := selectorLabels(expr, labelsOf)
	if anyLabel {
		return
	}
	for _, l := range labels {
		if !have[l] {
			t.Errorf("%s: no series it selects has the label %s", in, l)
		}
	}
}

// selectorLabels returns the labels of the series that expr selects, and
// whether some selector may have any label.
func selectorLabels(expr parser.Node, labelsOf func(*parser.VectorSelector) []string) (map[string]bool, bool) {
	have := map[string]bool{}
	var anyLabel bool
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			l := labelsOf(vs)
			if l == nil {
				anyLabel = true
			}
			for _, name := range l {
				have[name] = true
			}
		}
		return nil
	})
	return have, anyLabel
}

// checkLegend checks that each {{label}} of a panel's legend is a label of
// the query's result: one of its outermost aggregation's by clause, or of
// the series it selects if it aggregates nothing.
func checkLegend(t *testing.T, legend string, expr parser.Expr, labelsOf func(*parser.VectorSelector) []string) {
	t.Helper()
	var outer *parser.AggregateExpr
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if a, ok := node.(*parser.AggregateExpr); ok && outer == nil {
			outer = a
		}
		return nil
	})
	have, anyLabel := selectorLabels(expr, labelsOf)
	if outer != nil && !outer.Without {
		have, anyLabel = map[string]bool{}, false
		for _, l := range outer.Grouping {
			have[l] = l != prommodel.BucketLabel // histogram_quantile takes le away
		}
	}
	for _, m := range regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`).FindAllStringSubmatch(legend, -1) {
		if !anyLabel && !have[m[1]] {
			t.Errorf("legend %q: the result of %s has no label %s", legend, expr, m[1])
		}
	}
}

// A query of a dashboard panel or an alerting rule.
type query struct {
	where  string // the file and the panel or alert, for the test's name
	expr   string // PromQL, with Grafana's variables replaced
	legend string // the panel's legendFormat
}

// grafanaVariables are the dashboard variables a query may use, with
// values that make it PromQL.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "1m",
	"$__interval", "15s",
	"$__range", "1h",
)

// monitoringQueries returns every query of the Grafana dashboards and of
// the alerting rules.
func monitoringQueries(t *testing.T) []query {
	t.Helper()
	var qs []query
	dashboards, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(dashboards) == 0 {
		t.Fatalf("no dashboards in %s: %v", dashboardsDir, err)
	}
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr   string `json:"expr"`
			Legend string `json:"legendFormat"`
		} `json:"targets"`
	}
	for _, file := range dashboards {
		var d struct {
			Panels []panel `json:"panels"`
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				walk(p.Panels) // a collapsed row holds its panels
				for i, tg := range p.Targets {
					expr := grafanaVariables.Replace(tg.Expr)
					if strings.Contains(expr, "$") {
						t.Errorf("%s, %q: a variable the test does not know: %s", file, p.Title, tg.Expr)
					}
					qs = append(qs, query{fmt.Sprintf("%s %s %d", filepath.Base(file), p.Title, i), expr, tg.Legend})
				}
			}
		}
		walk(d.Panels)
	}
	for _, r := range alertingRules(t) {
		qs = append(qs, query{"rules.yml " + r.Alert, r.Expr, ""})
	}
	return qs
}

// rule is an alerting rule of rules.yml.
type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertingRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, promDir+"/rules.yml", &f)
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s/rules.yml has no rules", promDir)
	}
	return rules
}

func alertNames(t *testing.T) []string {
	var names []string
	for _, r := range alertingRules(t) {
		names = append(names, r.Alert)
	}
	return names
}

// prometheusJobs returns the job names of prometheus.yml.
func prometheusJobs(t *testing.T) []string {
	t.Helper()
	var c struct {
		ScrapeConfigs []struct {
			Job string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, promDir+"/prometheus.yml", &c)
	var jobs []string
	for _, s := range c.ScrapeConfigs {
		jobs = append(jobs, s.Job)
	}
	return jobs
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// Each alerting rule's annotation readme links the README section to
// read: README.md#anchor, the anchor of one of its headings.
func TestMonitoringAlertsLinkTheReadme(t *testing.T) {
	b, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[githubAnchor(strings.TrimLeft(h, "#"))] = true
		}
	}
	link := regexp.MustCompile(`README\.md#([a-z0-9-]+)`)
	for _, r := range alertingRules(t) {
		links := link.FindAllStringSubmatch(r.Annotations["readme"], -1)
		if len(links) == 0 {
			t.Errorf("%s: the annotation readme links no README section (README.md#anchor): %q", r.Alert, r.Annotations["readme"])
		}
		for _, l := range links {
			if !anchors[l[1]] {
				t.Errorf("%s: README.md has no section #%s", r.Alert, l[1])
			}
		}
		for _, a := range []string{"summary", "description"} {
			if r.Annotations[a] == "" {
				t.Errorf("%s: no annotation %s", r.Alert, a)
			}
		}
	}
}

// githubAnchor returns the anchor GitHub gives a heading: lower case,
// punctuation dropped, spaces made hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The rules pass promtool's checks and their unit tests
// (docker/prometheus/rules_test.yml), and prometheus.yml its check.
// promtool comes with Debian's prometheus package, which make test
// installs (scripts/deps.sh prometheus).
func TestMonitoringRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: install Debian's prometheus package (make test does: scripts/deps.sh prometheus), or Prometheus' release")
	}
	for _, args := range [][]string{
		{"check", "rules", promDir + "/rules.yml"},
		{"test", "rules", promDir + "/rules_test.yml"},
		{"check", "config", promDir + "/prometheus.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// docker compose config accepts the compose file with the profile
// monitoring; the monitoring services are in that profile and Kafka in
// none, and every file they mount is in the repository. Docker's compose
// plugin checks the file as it is; Debian's docker-compose 1.29 (bookworm)
// predates the top-level name, so it checks the rest. Skipped without
// either.
func TestMonitoringComposeFileIsValid(t *testing.T) {
	file, err := filepath.Abs(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if exec.Command("docker", "compose", "version").Run() == nil {
		cmd = exec.Command("docker", "compose", "-f", file, "--profile", "monitoring", "config")
	} else if compose, err := exec.LookPath("docker-compose"); err == nil {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		withoutName := regexp.MustCompile(`(?m)^name: .*\n`).ReplaceAll(b, nil)
		copied := filepath.Join(t.TempDir(), "docker-compose.yml")
		if err := os.WriteFile(copied, withoutName, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(compose, "--project-directory", filepath.Dir(file), "-f", copied, "--profile", "monitoring", "config")
	} else {
		t.Skip("no compose CLI: neither docker compose nor docker-compose (Debian: apt-get install docker-compose)")
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr)
	}
	var c struct {
		Services map[string]struct {
			Profiles []string `yaml:"profiles"`
			Volumes  []any    `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatalf("the output of compose config: %v\n%s", err, out)
	}
	for name, want := range map[string][]string{
		"kafka":      nil,
		"prometheus": {"monitoring"},
		"blackbox":   {"monitoring"},
		"grafana":    {"monitoring"},
	} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if !slices.Equal(s.Profiles, want) {
			t.Errorf("service %s: profiles %v, want %v", name, s.Profiles, want)
		}
		for _, v := range s.Volumes {
			source := bindSource(v)
			if !filepath.IsAbs(source) {
				continue // a named volume
			}
			if _, err := os.Stat(source); err != nil {
				t.Errorf("service %s mounts %s: %v", name, source, err)
			}
		}
	}
}

// bindSource returns the source of a volume of compose config's output:
// "SOURCE:TARGET[:MODE]" (docker-compose 1) or {type, source, target}
// (docker compose 2).
func bindSource(v any) string {
	switch v := v.(type) {
	case string:
		source, _, _ := strings.Cut(v, ":")
		return source
	case map[string]any:
		if v["type"] == "bind" {
			s, _ := v["source"].(string)
			return s
		}
	}
	return ""
}

// sessionScrape runs cmd/wallet's wiring (run.All on an embedded broker
// of its own), makes every metric appear (signups, a deposit, transfers
// completed and rejected, a withdrawal, a refused read, a dead letter),
// and returns what GET /metrics then serves, as metric → label → values
// (a histogram as its _bucket, _sum and _count), and GET /readyz's body.
func sessionScrape(t *testing.T) (map[string]map[string]map[string]bool, string) {
	t.Helper()
	brokers := embeddedBroker(t)
	c := config(t, brokers, 2)
	// The lag watcher reads every StallAfter/4: soon enough to see it.
	c.StallAfter = 4 * time.Second
	base := "http://" + serve(t, c, func(ctx context.Context, c run.Config) error { return run.All(ctx, c, "") })
	waitReadiness(t, base, http.StatusOK, time.Minute)
	cl := &api.Client{URL: base, ViewURL: base, Operator: operatorKey, Wait: 30 * time.Second}

	signUp(t, cl, wallet.Money{}, "mon-alice", "mon-bob")
	ctx := context.Background()
	answers := []struct {
		what string
		do   func() (api.Answer, error)
		want wallet.Status
	}{
		{"deposit", func() (api.Answer, error) { return cl.Deposit(ctx, uuid.New(), "mon-alice", wallet.Cents(1000)) }, wallet.Completed},
		{"transfer", func() (api.Answer, error) {
			return cl.PostTransfer(ctx, wallet.Transfer{RequestID: uuid.New(), From: "mon-alice", To: "mon-bob", Amount: wallet.Cents(300)})
		}, wallet.Completed},
		{"overdraft", func() (api.Answer, error) {
			return cl.PostTransfer(ctx, wallet.Transfer{RequestID: uuid.New(), From: "mon-bob", To: "mon-alice", Amount: wallet.Cents(500)})
		}, wallet.Rejected},
		{"withdrawal", func() (api.Answer, error) { return cl.Withdraw(ctx, uuid.New(), "mon-bob", wallet.Cents(100)) }, wallet.Completed},
	}
	for _, a := range answers {
		got, err := a.do()
		if err != nil || got.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s %v", a.what, got.Status, got.Body, err)
		}
		if tr, err := got.TransferResponse(); err != nil || tr.Status != a.want {
			t.Fatalf("%s: %s %v, want %s", a.what, got.Body, err, a.want)
		}
	}
	// A read without a key: a failed authentication.
	resp, err := http.Get(base + "/api/v1/accounts/mon-alice")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a key: %d, want 401", resp.StatusCode)
	}
	// Poison: a dead letter.
	produce(t, brokers, &kgo.Record{Topic: string(topology.TransferRequests), Partition: 0, Key: []byte(uuid.NewString()), Value: []byte("not json")})

	deadline := time.Now().Add(time.Minute)
	for {
		text := scrape(t, base)
		metrics := parseScrape(t, text)
		waiting := ""
		switch {
		case !metrics["wallet_dead_letters_total"]["topic"][string(topology.TransferRequests)]:
			waiting = "the dead letter"
		case len(metrics["wallet_consumer_lag_messages"]["partition"]) == 0:
			waiting = "the consumer lag"
		}
		if waiting == "" {
			return metrics, readyzBody(t, base)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in /metrics after a minute:\n%s", waiting, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// parseScrape returns the series of a scrape as metric → label → values.
func parseScrape(t *testing.T, text string) map[string]map[string]map[string]bool {
	t.Helper()
	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]map[string]map[string]bool{}
	add := func(name string, m *dto.Metric, extra ...string) {
		labels := out[name]
		if labels == nil {
			labels = map[string]map[string]bool{}
			out[name] = labels
		}
		for _, lp := range m.GetLabel() {
			if labels[lp.GetName()] == nil {
				labels[lp.GetName()] = map[string]bool{}
			}
			labels[lp.GetName()][lp.GetValue()] = true
		}
		for _, l := range extra {
			if labels[l] == nil {
				labels[l] = map[string]bool{}
			}
		}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				add(name+"_bucket", m, prommodel.BucketLabel)
				add(name+"_sum", m)
				add(name+"_count", m)
			case dto.MetricType_SUMMARY:
				add(name, m, prommodel.QuantileLabel)
				add(name+"_sum", m)
				add(name+"_count", m)
			default:
				add(name, m)
			}
		}
	}
	return out
}

func readyzBody(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
