package loadgen

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/wallet/wallet"
)

func testWorkload(t *testing.T, args ...string) (config, *workload) {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-processing", "-prefix", "pb"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wl, err := newWorkload(cfg, 7, wallet.DefaultMaxOverdraft, wallet.DefaultMaxAmount)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, wl
}

// The workload decides every outcome: whatever order the processors take
// the requests in, every account can afford all it sends, and no
// account can afford an overdraft attempt; re-posts copy earlier
// requests; the model's books balance.
func TestWorkloadDecidesEveryOutcome(t *testing.T) {
	cfg, wl := testWorkload(t, "-n", "3000", "-accounts", "20", "-hot-share", "30",
		"-repost", "5", "-overdraft", "5", "-unknown", "5", "-withdraw", "5")
	if len(wl.requests) != cfg.n || wl.distinct+wl.reposts != cfg.n || len(wl.names) != 21 || len(wl.deposits) != 21 {
		t.Fatalf("%d requests (%d distinct, %d re-posts), %d names, %d deposits", len(wl.requests), wl.distinct, wl.reposts, len(wl.names), len(wl.deposits))
	}
	for _, k := range []kind{overdraft, unknownTo, withdrawal} {
		if wl.kinds[k] == 0 || wl.reposts == 0 {
			t.Errorf("no requests of kind %d, or no re-posts: %+v", k, wl.mix())
		}
	}
	deposits, total := map[string]int64{}, int64(0)
	for _, d := range wl.deposits {
		deposits[d.to] = d.cents
		total += d.cents
	}
	seen, sends := map[string]request{}, map[string]int64{}
	for _, r := range wl.requests {
		first, ok := seen[r.id]
		switch {
		case r.repost && (!ok || first.from != r.from || first.to != r.to || first.cents != r.cents):
			t.Errorf("re-post %+v of %+v", r, first)
		case !r.repost && ok:
			t.Errorf("request ID %s drawn twice", r.id)
		case !r.repost && r.kind == overdraft && r.cents <= total+wl.limit.Cents():
			t.Errorf("overdraft attempt of %d cents, and %d were deposited", r.cents, total)
		case !r.repost && r.kind != overdraft:
			sends[r.from] += r.cents
		}
		seen[r.id] = r
	}
	for name, s := range sends {
		if s > deposits[name] {
			t.Errorf("%s sends %d cents and was given %d", name, s, deposits[name])
		}
	}

	m, err := wl.expect()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.requests) != wl.distinct || len(m.outcomes) != wl.distinct+len(wl.deposits) {
		t.Errorf("model: %d requests, %d outcomes", len(m.requests), len(m.outcomes))
	}
	var sum int64
	for _, b := range m.balances {
		sum += b
	}
	if sum != 0 || len(m.closed) != wl.kinds[unknownTo] || m.balances[wallet.World] >= 0 {
		t.Errorf("model: balances sum to %d, %d closed accounts, World %d", sum, len(m.closed), m.balances[wallet.World])
	}

	_, again := testWorkload(t, "-n", "3000", "-accounts", "20", "-hot-share", "30",
		"-repost", "5", "-overdraft", "5", "-unknown", "5", "-withdraw", "5")
	if !reflect.DeepEqual(wl, again) {
		t.Error("one seed drew two workloads")
	}
}

// Without special kinds and re-posts, the transfers are those that
// -processing preloaded before it had them, so that figures stay
// comparable: the same pairs, amounts and request IDs.
func TestWorkloadWithoutSharesKeepsTheOldTransfers(t *testing.T) {
	cfg, wl := testWorkload(t, "-n", "500", "-accounts", "50", "-hot-share", "20",
		"-repost", "0", "-overdraft", "0", "-unknown", "0", "-withdraw", "0")
	trng := rand.New(rand.NewPCG(7, 3))
	names := newAccounts(cfg, trng)
	for i, r := range wl.requests {
		f, to := names.pair()
		cents := 1 + trng.Int64N(cfg.maxCents)
		id := requestID(trng)
		if r.from != f || r.to != to || r.cents != cents || r.id != id || r.kind != ordinary || r.repost {
			t.Fatalf("request %d: %+v, want %s -> %s %d %s", i, r, f, to, cents, id)
		}
	}
}

// The Kafka Streams harness's store values, as its Java code writes them
// (Accountant.Account, Transfers.State).
func TestStreamsValues(t *testing.T) {
	account := make([]byte, 25)
	account[0] = 1
	binary.BigEndian.PutUint64(account[1:], 100000)
	balance := int64(-250)
	binary.BigEndian.PutUint64(account[9:], uint64(balance))
	binary.BigEndian.PutUint64(account[17:], 42)
	cents, open, err := streamsAccount(account)
	if err != nil || cents != -250 || !open {
		t.Errorf("account: %d %t %v", cents, open, err)
	}
	if _, _, err := streamsAccount(account[:24]); err == nil {
		t.Error("a short account value decoded")
	}
	for value, want := range map[string]string{"p\x00": "pending", "c\x00": "completed", "rf": "rejected insufficient_funds", "rn": "rejected account_not_found"} {
		if got, err := streamsTransfer("", []byte(value+"rest")); got != want || err != nil {
			t.Errorf("transfer %q: %q %v, want %q", value, got, err, want)
		}
	}
	if _, err := streamsTransfer("", []byte("x\x00")); err == nil {
		t.Error("an unknown status decoded")
	}
}

func TestProcUsage(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	cpu, err := procCPU(os.Getpid())
	if err != nil || cpu <= 0 || x == 0 {
		t.Errorf("cpu time %v, %v", cpu, err)
	}
	if rss, err := peakRSS("self"); err != nil || rss < 1<<20 {
		t.Errorf("peak RSS %d, %v", rss, err)
	}
}
