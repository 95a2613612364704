package run_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// browser returns the path of a Chromium or Chrome to drive, or skips the
// test when there is none: `make test` installs Debian's chromium
// (scripts/deps.sh chromium); CHROME names another.
func browser(t *testing.T) string {
	t.Helper()
	names := []string{os.Getenv("CHROME"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	for _, name := range names {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium or Chrome found (install Debian's chromium with ./scripts/deps.sh chromium, or set CHROME): the page is not tested")
	return ""
}

// transferRow is a transfer as the page shows it.
type transferRow struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Status string `json:"status"`
	Path   string `json:"path"`
}

// TestPage drives the page at / in a headless browser against the real
// services (all in one process, on an embedded broker): it signs up two
// accounts, deposits, sends money, and sees on the page the transfer's
// final status, its path through the partitions and both balances.
func TestPage(t *testing.T) {
	chrome := browser(t)
	// A broker of its own: a shared cluster (make test-kafka) has its
	// topics with the other tests' partition count.
	const partitions = 4
	c := config(t, embeddedBroker(t), partitions)
	c.MaxOverdraft = wallet.DefaultMaxOverdraft
	addr := serve(t, c, func(ctx context.Context, c run.Config) error { return run.All(ctx, c, "") })
	base := "http://" + addr
	// Sign-ups are decided once the processors run; before, the API
	// answers 202 and the page would say so.
	waitReadiness(t, base, http.StatusOK, time.Minute)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		// Chromium's sandbox needs user namespaces, which containers
		// and root (as in CI) often lack; the page is our own.
		chromedp.NoSandbox,
	)
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#signup-form")); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	// fill sets the form's inputs and submits it with its button.
	fill := func(button string, fields map[string]string) {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for sel, v := range fields {
			steps = append(steps, chromedp.SetValue(sel, v))
		}
		steps = append(steps, chromedp.Click(button))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("submit %s: %v", button, err)
		}
	}
	// waitFor evaluates expr on the page until it returns want.
	waitFor := func(what, expr, want string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var err error
			if got, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got == want {
				return
			}
		}
		t.Fatalf("%s: the page shows %q, want %q", what, got, want)
	}
	message := `document.getElementById("message").textContent`
	balance := func(name string) string {
		return `(document.querySelector('#accounts tr[data-account="` + name + `"] td.balance') || {}).textContent || ""`
	}

	for _, name := range []string{"Alice", "Bob"} {
		fill("#signup-btn", map[string]string{"#signup-name": name})
		waitFor("sign up "+name, message, "Signed up "+name+".")
	}
	fill("#deposit-btn", map[string]string{"#deposit-account": "Alice", "#deposit-amount": "10.00"})
	waitFor("Alice's balance after the deposit", balance("Alice"), "10.00")
	fill("#send-btn", map[string]string{"#send-from": "Alice", "#send-to": "Bob", "#send-amount": "2.50"})
	waitFor("Alice's balance after the transfer", balance("Alice"), "7.50")
	waitFor("Bob's balance after the transfer", balance("Bob"), "2.50")

	// The transfer: completed, and its path through the partitions as
	// Kafka's partitioner places its request and both accounts.
	rowsJS := `[...document.querySelectorAll("#transfers tr")].map(r => ({
		id: r.dataset.id, from: r.children[1].textContent, to: r.children[2].textContent,
		status: r.querySelector(".status").textContent, path: r.querySelector(".path").textContent}))`
	var sent transferRow
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]transferRow](rowsJS))
		if err != nil {
			t.Fatalf("read the transfers: %v", err)
		}
		for _, r := range rows {
			if r.From == "Alice" && r.To == "Bob" {
				sent = r
			}
		}
		if sent.Status == "completed" && strings.Contains(sent.Path, "·") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the transfer on the page: %+v (all: %+v), want it completed with its path", sent, rows)
		}
	}
	want := "transfer_request p" + strconv.Itoa(int(topology.Partition(sent.ID, partitions))) + " · paymentd" +
		"→Alice p" + strconv.Itoa(int(topology.Partition("alice", partitions))) + " · debit" +
		"→Bob p" + strconv.Itoa(int(topology.Partition("bob", partitions))) + " · credit"
	if sent.Path != want {
		t.Errorf("the transfer's path on the page is\n%s\nwant\n%s", sent.Path, want)
	}

	// goka's pages are served beside it.
	for _, path := range []string{"/goka/", "/goka/monitor/", "/goka/query/"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, res.Status)
		}
	}
}
