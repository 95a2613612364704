package loadgen

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

func TestPercentile(t *testing.T) {
	sorted := make([]int64, 100)
	for i := range sorted {
		sorted[i] = int64(i + 1)
	}
	for _, tc := range []struct{ p, want int }{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {1, 1}, {0, 1}} {
		if got := percentile(sorted, tc.p); got != int64(tc.want) {
			t.Errorf("p%d = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := percentile([]int64{7}, 99); got != 7 {
		t.Errorf("p99 of one value = %d", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %d", got)
	}
}

func TestPairs(t *testing.T) {
	for _, skew := range []string{"uniform", "zipf"} {
		cfg := defaultConfig()
		cfg.prefix, cfg.accounts, cfg.skew, cfg.hotShare = "lg-test", 3, skew, 0
		a := newAccounts(cfg, rand.New(rand.NewPCG(1, 2)))
		for range 10000 {
			from, to := a.pair()
			if from == to {
				t.Fatalf("%s: a transfer from %s to itself", skew, from)
			}
			if !strings.HasPrefix(from, "lg-test-") || !strings.HasPrefix(to, "lg-test-") {
				t.Fatalf("%s: names %q, %q", skew, from, to)
			}
		}
	}
}

func TestHotShare(t *testing.T) {
	cfg := defaultConfig()
	cfg.prefix, cfg.hotShare = "lg-test", 50
	a := newAccounts(cfg, rand.New(rand.NewPCG(3, 4)))
	hot := 0
	for range 10000 {
		if _, to := a.pair(); to == "lg-test-merchant" {
			hot++
		}
	}
	if hot < 4500 || hot > 5500 {
		t.Errorf("%d of 10000 transfers paid the merchant, want about half", hot)
	}
}

// The plan is drawn from the seed alone, and its names are the accounts it
// uses, each once.
func TestPlanNames(t *testing.T) {
	cfg := defaultConfig()
	cfg.prefix, cfg.n, cfg.accounts, cfg.hotShare = "lg-test", 1000, 1000000, 20
	p, again := newPlan(cfg, 7), newPlan(cfg, 7)
	a := &accounts{prefix: cfg.prefix}
	used := map[string]bool{}
	for i := range cfg.n {
		from, to := p.pair(a, i)
		if f, g := again.pair(a, i); f != from || g != to {
			t.Fatalf("transfer %d: %s -> %s, then %s -> %s from the same seed", i, from, to, f, g)
		}
		if from == to {
			t.Fatalf("transfer %d from %s to itself", i, from)
		}
		used[from] = true
		if k := p.kinds[i]; k != unknownTo && k != withdrawal {
			used[to] = true // a withdrawal's or an unknown name's recipient is not signed up
		}
	}
	names := p.names(a)
	if len(names) != len(used) || !used["lg-test-merchant"] || len(names) > 2*cfg.n {
		t.Fatalf("%d names for %d accounts used (merchant: %v)", len(names), len(used), used["lg-test-merchant"])
	}
	for _, n := range names {
		if !used[n] {
			t.Errorf("%s signed up but not used", n)
		}
	}
	if got := signupNames(cfg, nil); len(got) != 2 || got[0] != "lg-test-probe-a" || got[1] != "lg-test-probe-b" {
		t.Errorf("with -probe: %q", got)
	}
}

// The body is what the API decodes: a valid transfer, amount exact.
func TestBodyIsAValidTransfer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cents := range []int64{1, 9, 10, 99, 100, 12345} {
		tr := newTransfer(rng, "lg-x-1", "lg-x-2", cents)
		got, err := api.DecodeTransfer(tr.body, wallet.Money{})
		if err != nil {
			t.Fatalf("%s: %v", tr.body, err)
		}
		if !got.Amount.Equal(wallet.Cents(cents)) || got.From != "lg-x-1" || got.To != "lg-x-2" {
			t.Errorf("%s decoded as %+v", tr.body, got)
		}
		var m map[string]string
		if err := json.Unmarshal(tr.body, &m); err != nil || m["request_id"] != got.RequestID.String() {
			t.Errorf("%s: request ID not canonical (%v)", tr.body, err)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-embedded", "-n", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.bound || c.view != c.api || !strings.HasPrefix(c.prefix, "lg-") {
		t.Errorf("defaults with -embedded: %+v", c)
	}
	if c, _ := parseFlags(nil, io.Discard); c.bound {
		t.Error("-bound is on without -embedded or -brokers")
	}
	if c, _ := parseFlags([]string{"-brokers", "h:1"}, io.Discard); !c.bound {
		t.Error("-bound is off with -brokers")
	}
	if c, _ := parseFlags([]string{"-embedded", "-bound=false"}, io.Discard); c.bound {
		t.Error("-bound=false ignored")
	}
	if c, _ := parseFlags([]string{"-probe"}, io.Discard); c.n != defaultProbes {
		t.Errorf("-probe sends %d probes by default", c.n)
	}
	if c, _ := parseFlags([]string{"-probe", "-n", "7"}, io.Discard); c.n != 7 {
		t.Errorf("-probe -n 7 sends %d probes", c.n)
	}
	for _, bad := range [][]string{{"-skew", "pareto"}, {"-accounts", "1"}, {"-hot-share", "101"}, {"-prefix", `a"b`}, {"-skew", "zipf", "-zipf-s", "1"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
