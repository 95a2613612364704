package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/run"
)

// brokers returns the brokers to test against: the cluster in KAFKA_BROKERS
// when set (make test-kafka), else a fresh embedded broker on a free port.
// A real cluster is shared by the tests, so they all use the same partition
// count and accounts of their own.
func brokers(t *testing.T) []string {
	t.Helper()
	if env := os.Getenv("KAFKA_BROKERS"); env != "" {
		return kafka.ParseBrokers(env)
	}
	return embeddedBroker(t)
}

// embeddedBroker starts an embedded broker of the test's own, whatever
// KAFKA_BROKERS says: for the tests that leave in Kafka what a shared
// cluster must not keep, such as table records no processor wrote, which
// the other tests' audits would meet.
func embeddedBroker(t *testing.T) []string {
	t.Helper()
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return []string{b.Addr()}
}

// config returns the configuration of a test's services on brokers.
func config(t *testing.T, brokers []string, partitions int) run.Config {
	c := run.Defaults()
	c.Kafka.Brokers = brokers
	c.Kafka.Security = security(t, brokers)
	c.Kafka.Partitions = partitions
	c.HTTP = "127.0.0.1:0"
	c.State = t.TempDir()
	c.Out = nil
	c.OperatorKey = operatorKey
	return c
}

// operatorKey is the operator's key of the tests' services.
const operatorKey = "wltop_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

// security returns how to reach brokers: for the cluster in KAFKA_BROKERS,
// the settings every command reads from its environment (WALLET_KAFKA_TLS,
// WALLET_KAFKA_CA_FILE, WALLET_KAFKA_SASL_MECHANISM, WALLET_KAFKA_USERNAME,
// WALLET_KAFKA_PASSWORD or WALLET_KAFKA_PASSWORD_FILE, ...), none when
// unset; for any other brokers, such as a test's own embedded broker, none.
// make test-kafka sets them from .kafka/secure/env (scripts/kafka/start.sh
// PORT secure) for wallet-test, a principal that holds the ACLs of every
// role plus reading the dead letter topic, as the tests' raw clients do.
func security(t testing.TB, brokers []string) kafka.Security {
	t.Helper()
	env := kafka.ParseBrokers(os.Getenv("KAFKA_BROKERS"))
	if len(env) == 0 || strings.Join(env, ",") != strings.Join(brokers, ",") {
		return kafka.Security{}
	}
	s, err := run.SecurityFromEnv()
	if err != nil {
		t.Fatalf("Kafka security from the environment: %v", err)
	}
	return s
}

// kgoClient returns a franz-go client of brokers, secured as config's
// services are, with opts.
func kgoClient(t testing.TB, brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	t.Helper()
	sec, err := security(t, brokers).KgoOpts()
	if err != nil {
		return nil, err
	}
	return kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, sec...), opts...)...)
}

// withState returns c with a state directory of its own.
func withState(t *testing.T, c run.Config) run.Config {
	c.State = t.TempDir()
	return c
}

// start runs service in the background until the test ends or stop is
// called, and returns a channel that receives its HTTP address if it
// serves one.
func start(t *testing.T, c run.Config, service func(context.Context, run.Config) error) (ready <-chan string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	c.Ready = addr
	done := make(chan error, 1)
	go func() { done <- service(ctx, c) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("service stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return addr, stop
}

// serve starts an HTTP service and returns its address once it listens.
func serve(t *testing.T, c run.Config, service func(context.Context, run.Config) error) string {
	t.Helper()
	ready, stop := start(t, c, service)
	select {
	case addr := <-ready:
		return addr
	case <-time.After(30 * time.Second):
		stop()
		t.Fatal("service did not start serving HTTP within 30s")
		return ""
	}
}

// startAPIs starts the transfer API and the balance view (with its own
// state directory) and returns a client of both.
func startAPIs(t *testing.T, c run.Config) *api.Client {
	t.Helper()
	return &api.Client{URL: "http://" + serve(t, withState(t, c), run.Emitter), ViewURL: "http://" + serve(t, withState(t, c), run.View), Operator: operatorKey}
}

// maxOverdraft lets the tests that are not about funds move money between
// accounts that start at 0.00.
var maxOverdraft = wallet.DefaultMaxOverdraft

// signUp opens the named accounts through the API, each with the
// overdraft limit given, and fails unless each is answered 201 within a
// minute: a 202 (no decision yet, while the processors start or
// rebalance) is posted again with the same request ID.
func signUp(t *testing.T, cl *api.Client, limit wallet.Money, names ...string) {
	t.Helper()
	for _, name := range names {
		claim := wallet.Claim{RequestID: uuid.New(), Username: name, OverdraftLimit: limit}
		deadline := time.Now().Add(time.Minute)
		for {
			a, err := cl.PostAccount(context.Background(), claim)
			if err == nil && a.Status == http.StatusCreated {
				break
			}
			if err != nil || a.Status != http.StatusAccepted || time.Now().After(deadline) {
				t.Fatalf("sign up %s: %d %s %v", name, a.Status, a.Body, err)
			}
		}
		// A claim answered 202 and posted again is answered 201 without
		// its key, which is shown once: the operator issues one, as for
		// a user who lost theirs.
		for cl.Key(name) == "" {
			if _, a, err := cl.IssueKey(context.Background(), uuid.New(), name, ""); err != nil && a.Status != http.StatusAccepted || time.Now().After(deadline) {
				t.Fatalf("issue a key to %s: %d %s %v", name, a.Status, a.Body, err)
			}
			time.Sleep(20 * time.Millisecond) // a 202: ask again, not in a busy loop
		}
	}
}

// post posts tr and returns the status and the body of the answer.
func post(t *testing.T, cl *api.Client, tr wallet.Transfer) (int, string) {
	t.Helper()
	a, err := cl.PostTransfer(context.Background(), tr)
	if err != nil {
		t.Fatalf("POST transfer: %v", err)
	}
	return a.Status, strings.TrimSpace(string(a.Body))
}

// balance returns the account's balance, or "" if the view has none.
func balance(t *testing.T, cl *api.Client, account string) string {
	t.Helper()
	acct, found, err := cl.Account(context.Background(), account)
	var answered *api.StatusError
	switch {
	case errors.As(err, &answered):
		return ""
	case err != nil:
		t.Fatalf("GET account %s: %v", account, err)
	case !found:
		return ""
	}
	return acct.Balance.String()
}

// waitBalances polls the view until every account of want has its
// expected balance, or fails after timeout listing the differences.
func waitBalances(t *testing.T, cl *api.Client, want *ledger.Ledger, timeout time.Duration) {
	t.Helper()
	if err := balancesWithin(t, cl, want, timeout); err != nil {
		t.Fatal(err)
	}
}

// balancesWithin polls the view until every account of want has its
// expected balance, or returns the differences after timeout.
func balancesWithin(t *testing.T, cl *api.Client, want *ledger.Ledger, timeout time.Duration) error {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var diffs []string
		for _, account := range want.Accounts() {
			w := wallet.Cents(want.Balance(account))
			if got := balance(t, cl, account); got != w.String() {
				diffs = append(diffs, fmt.Sprintf("%s: got %q, want %s", account, got, w))
			}
		}
		if len(diffs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("balances differ after %s:\n%s", timeout, strings.Join(diffs, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startWorld records in want World's balance as the view shows it now,
// and returns it in cents: on a cluster shared by the tests (make
// test-kafka), the others have moved money from and to World before.
func startWorld(t *testing.T, cl *api.Client, want *ledger.Ledger) int64 {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; { // a view still recovering answers 503
		acct, _, err := cl.Account(context.Background(), wallet.World)
		if err == nil {
			want.Start(wallet.World, acct.Balance.Cents())
			return acct.Balance.Cents()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", wallet.World, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lockedBuffer collects a processor's printed lines from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// partitions returns the wallet.payment partitions a processor printed the
// accountant's lines for.
func (l *lockedBuffer) partitions() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for _, line := range strings.Split(l.b.String(), "\n") {
		if p, _, ok := strings.Cut(line, ":"); ok && accountants(line) {
			seen[p] = true
		}
	}
	return seen
}

// accountants reports whether a printed line is one of the accountant's
// instructions, the only lines that name a wallet.payment partition. It
// recognises them by what they show, an amount or an opening, rather than
// by excluding the other groups' lines: a line a group starts printing
// must not pass for the accountant's. (The signup group's key issues,
// which end in 🔑, once did, and a test that waited for both instances to
// apply a payment partition went on before one had.)
func accountants(line string) bool {
	return strings.Contains(line, "$") || strings.Contains(line, " opened, overdraft limit ")
}

// TestPartitionsCountsOnlyTheAccountants checks the helper the split test
// relies on against a line of each kind the processors print.
func TestPartitionsCountsOnlyTheAccountants(t *testing.T) {
	id := "2ede54d6-3293-486e-a34a-eaaf553ac067"
	lines := []string{
		"0:1 " + id + " alice ✅",                                        // signup: a claim won
		"1:2 " + id + " alice ❌",                                        // signup: a claim lost
		"2:3 " + id + " alice 🔑",                                        // signup: a key issued
		"3:4 " + id + " alice -> bob 1.00: completed",                   // paymentd
		"4:5 " + id + " bob -> carol 1.00: rejected (no such account)",  // paymentd
		"alice balance: 9.00 USD",                                       // the accountant: the line after a debit or credit
		"6:7 " + id + " alice opened, overdraft limit 0.00",             // the accountant
		"7:8 " + id + " alice -$1.00",                                   // the accountant
		"8:9 " + id + " bob +$1.00",                                     // the accountant
		"9:10 " + id + " alice +$1.00 (refund: dave is not an account)", // the accountant
	}
	var out lockedBuffer
	for _, l := range lines {
		fmt.Fprintln(&out, l)
	}
	want := map[string]bool{"6": true, "7": true, "8": true, "9": true}
	if got := out.partitions(); !maps.Equal(got, want) {
		t.Errorf("partitions() = %v, want %v", got, want)
	}
}

func TestTwoProcessorsSplitPartitionsAndTakeOver(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	var outA, outB lockedBuffer
	a, b := c, c
	a.State, a.Out = t.TempDir(), &outA
	b.State, b.Out = t.TempDir(), &outB
	_, stopA := start(t, a, run.Processors)
	start(t, b, run.Processors)
	cl := startAPIs(t, c)

	for i := range 16 {
		signUp(t, cl, maxOverdraft, fmt.Sprintf("split-a%d", i), fmt.Sprintf("split-b%d", i))
	}
	// Send transfers until both instances have applied instructions, which
	// happens once the group has rebalanced across both.
	var want ledger.Ledger
	send := func(n int) {
		for i := 0; i < n; i++ {
			from, to := fmt.Sprintf("split-a%d", i%16), fmt.Sprintf("split-b%d", i%16)
			tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(100)}
			if status, body := post(t, cl, tr); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(tr)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(outA.partitions()) == 0 || len(outB.partitions()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("partitions never split: A applied %v, B applied %v", outA.partitions(), outB.partitions())
		}
		send(32)
		waitBalances(t, cl, &want, 60*time.Second)
	}
	// Now that the group is split, each partition has one owner.
	outA.reset()
	outB.reset()
	send(64)
	waitBalances(t, cl, &want, 60*time.Second)
	pa, pb := outA.partitions(), outB.partitions()
	if len(pa)+len(pb) != 2 {
		t.Errorf("A applied partitions %v and B %v, want 2 in all, none twice", pa, pb)
	}
	for p := range pa {
		if pb[p] {
			t.Errorf("partition %s applied by both instances", p)
		}
	}

	stopA()
	outB.reset()
	send(64)
	waitBalances(t, cl, &want, 90*time.Second)
	if got := outB.partitions(); len(got) != 2 {
		t.Errorf("after A stopped, B applied partitions %v, want both", got)
	}
}

// A processor restarted on its own state directory resumes from its local
// table; one started on a fresh directory rebuilds the same balances from
// the changelog.
func TestRestartRecoversFromLocalTable(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	_, stop := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	for i := range 10 {
		signUp(t, cl, maxOverdraft, fmt.Sprintf("r%d", i))
	}

	var want ledger.Ledger
	send := func(n int) {
		for i := 0; i < n; i++ {
			from, to := fmt.Sprintf("r%d", i%10), fmt.Sprintf("r%d", (i+3)%10)
			tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(int64(100 + i))}
			if status, body := post(t, cl, tr); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(tr)
		}
	}
	send(200)
	waitBalances(t, cl, &want, 60*time.Second)
	stop()

	before := processors.RecoveredRecords()
	_, stop = start(t, c, run.Processors)
	send(20)
	waitBalances(t, cl, &want, 60*time.Second)
	stop()
	resumed := processors.RecoveredRecords() - before
	t.Logf("restart on the same state directory read %d changelog records", resumed)

	fresh := c
	fresh.State = t.TempDir()
	before = processors.RecoveredRecords()
	start(t, fresh, run.Processors)
	send(20)
	waitBalances(t, cl, &want, 60*time.Second)
	rebuilt := processors.RecoveredRecords() - before
	t.Logf("start on a fresh state directory read %d changelog records", rebuilt)

	// 220 transfers wrote 220 paymentd records and 440 accountant records.
	if rebuilt < 660 {
		t.Errorf("a fresh state directory read %d changelog records, want all 660 or more", rebuilt)
	}
	if resumed >= rebuilt/10 {
		t.Errorf("a restart read %d changelog records, want far fewer than the %d of a fresh start", resumed, rebuilt)
	}
}
