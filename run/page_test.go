package run_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// pageOperatorKey is the operator's key of the page's test, in the form
// of the keys that cmd/wallet makes (wltop_ and at least 32 characters).
const pageOperatorKey = "wltop_pageTest0123456789abcdefghijklmnopqrstuvwxyz"

// v4 is a version 4 UUID, as the page makes request IDs.
var v4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// pagePost is a POST the page sent, as the test's wrapper of fetch saw it.
type pagePost struct {
	URL  string `json:"url"`
	Body string `json:"body"`
}

// instrumentJS wraps the page's fetch to record each POST, and takes
// crypto.randomUUID away, as a browser does outside secure contexts (plain
// HTTP to an address other than localhost), so that the page must make
// its request IDs from crypto.getRandomValues.
const instrumentJS = `(() => {
	window.__posts = [];
	const real = window.fetch;
	window.fetch = (url, init) => {
		if (init && init.method === "POST") window.__posts.push({url: String(url), body: String(init.body || "")});
		return real(url, init);
	};
	delete Crypto.prototype.randomUUID;
	return typeof crypto.randomUUID;
})()`

// TestPage drives the page at / in a headless browser against the real
// services (all in one process, on an embedded broker, with an operator's
// key). It signs up two accounts, each shown its API key once; signs in as
// the first with its key and sends money to the second, which completes
// and changes the balance, withdraws, and sees a rejected transfer and a
// refused one reported as errors; signs in as the operator, deposits and
// sees every account. Double clicks on Send and Deposit each send one
// request, and the page logs no error to the console.
func TestPage(t *testing.T) {
	chrome := browser(t)
	// A broker of its own: a shared cluster (make test-kafka) has its
	// topics with the other tests' partition count.
	const partitions = 4
	c := config(t, embeddedBroker(t), partitions)
	c.MaxOverdraft = wallet.DefaultMaxOverdraft
	c.OperatorKey = pageOperatorKey
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
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	// Every message of the page's console, from before it loads: a
	// missing favicon, a request answered 4xx or 5xx and an uncaught
	// exception are all errors there.
	var (
		consoleMu sync.Mutex
		console   []chromedp.ConsoleMessage
	)
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	messages := chromedp.Console(consoleCtx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m)
			consoleMu.Unlock()
		}
	}()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#signin-form")); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	eval := func(what, expr string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return got
	}
	instrument := func() {
		t.Helper()
		if got := eval("instrument the page", instrumentJS); got != "undefined" {
			t.Fatalf("crypto.randomUUID is %s after deleting it", got)
		}
	}
	instrument()
	// posts returns the POSTs the page sent to path since instrument.
	posts := func(path string) []pagePost {
		t.Helper()
		all, err := chromedp.Run(ctx, chromedp.Evaluate[[]pagePost](`window.__posts`))
		if err != nil {
			t.Fatalf("read the page's requests: %v", err)
		}
		var out []pagePost
		for _, p := range all {
			if p.URL == path {
				out = append(out, p)
			}
		}
		return out
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
	// doubleClick fills the form and double-clicks its button as a person
	// does: two presses and releases at one place, the second with click
	// count 2, which make two click events and a dblclick.
	doubleClick := func(button string, fields map[string]string) {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for sel, v := range fields {
			steps = append(steps, chromedp.SetValue(sel, v))
		}
		if err := chromedp.Do(ctx, append(steps, chromedp.ScrollIntoView(button))...); err != nil {
			t.Fatalf("fill the form of %s: %v", button, err)
		}
		type point struct{ X, Y float64 }
		p, err := chromedp.Run(ctx, chromedp.Evaluate[point](`(() => {
			const r = document.querySelector(`+strconv.Quote(button)+`).getBoundingClientRect();
			return {X: r.left + r.width / 2, Y: r.top + r.height / 2};
		})()`))
		if err != nil {
			t.Fatalf("find %s: %v", button, err)
		}
		if err := chromedp.Do(ctx,
			chromedp.MouseClickXY(p.X, p.Y),
			chromedp.MouseClickXY(p.X, p.Y, chromedp.ClickCount(2)),
		); err != nil {
			t.Fatalf("double-click %s: %v", button, err)
		}
	}
	// waitUntil evaluates expr on the page until ok accepts it.
	waitUntil := func(what, expr string, ok func(string) bool) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = eval(what, expr); ok(got) {
				return got
			}
		}
		t.Fatalf("%s: the page shows %q", what, got)
		return ""
	}
	waitFor := func(what, expr, want string) {
		t.Helper()
		waitUntil(what+" (want "+strconv.Quote(want)+")", expr, func(got string) bool { return got == want })
	}
	text := func(id string) string { return `document.getElementById("` + id + `").textContent` }
	// message is the page's message and its class, "ok", "error" or
	// "pending": "error: ..." and so on.
	message := `(m => m.className + ": " + m.textContent)(document.getElementById("message"))`
	waitMessage := func(what, prefix string) string {
		t.Helper()
		return waitUntil(what+" (want a message beginning "+strconv.Quote(prefix)+")", message, func(got string) bool { return strings.HasPrefix(got, prefix) })
	}
	visible := func(id string) string {
		return `(e => e.hidden || e.closest("[hidden]") ? "hidden" : "visible")(document.getElementById("` + id + `"))`
	}
	balance := func(name string) string {
		return `(document.querySelector('#accounts tr[data-account="` + name + `"] td.balance') || {}).textContent || ""`
	}
	session := `sessionStorage.getItem("wallet.session") || ""`

	if got := eval("the page's icon", `(document.querySelector('link[rel="icon"]') || {}).href || ""`); got != base+"/favicon.ico" {
		t.Errorf("the page's icon is %q, want %s/favicon.ico", got, base)
	}

	// Sign up: the page shows the key once and signs in with it.
	signUp := func(name, overdraft string) string {
		t.Helper()
		fields := map[string]string{"#signup-name": name}
		if overdraft != "" { // the page empties the field after a sign-up
			fields["#signup-overdraft"] = overdraft
		}
		fill("#signup-btn", fields)
		waitMessage("sign up "+name, "ok: Signed up "+name+" and signed in.")
		waitFor("who is signed in after the sign-up of "+name, text("whoami"), "Signed in as "+name+".")
		waitFor("the key of "+name, visible("new-key-box"), "visible")
		if got := eval("the notice of the key", text("new-key-box")); !strings.Contains(got, "it is shown once") {
			t.Errorf("the key's notice says %q, want it to say the key is shown once", got)
		}
		key := eval("the key of "+name, `document.getElementById("new-key").value`)
		if !strings.HasPrefix(key, wallet.KeyPrefix) {
			t.Fatalf("the page shows %q as the key of %s", key, name)
		}
		if account, ok := wallet.KeyAccount(key); !ok || account != strings.ToLower(name) {
			t.Errorf("the key of %s names account %q (%v)", name, account, ok)
		}
		return key
	}
	signOut := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click("#signout-btn")); err != nil {
			t.Fatalf("sign out: %v", err)
		}
		waitFor("the sign-in form after signing out", visible("signin-form"), "visible")
		if got := eval("the session after signing out", session); got != "" {
			t.Errorf("sessionStorage holds %q after signing out", got)
		}
		if got := eval("the key shown after signing out", `document.getElementById("new-key").value`); got != "" {
			t.Errorf("the page still shows the key %q after signing out", got)
		}
	}
	signIn := func(key, who string) {
		t.Helper()
		fill("#signin-btn", map[string]string{"#signin-key": key})
		waitFor("sign in as "+who, text("whoami"), "Signed in as "+who+".")
	}

	aliceKey := signUp("Alice", "100.00")
	waitFor("Alice's balance", text("me-balance"), "0.00")
	waitFor("Alice's overdraft limit", text("me-limit"), "100.00")
	// Outside a secure context the page made the request ID itself.
	signups := posts("/api/v1/accounts")
	if len(signups) != 1 || !v4.MatchString(requestID(t, signups[0].Body)) {
		t.Errorf("the sign-up's requests: %+v, want one with a version 4 request ID", signups)
	}
	if got := eval("Alice's session", session); !strings.Contains(got, aliceKey) {
		t.Errorf("sessionStorage holds %q, want Alice's key", got)
	}
	signOut()
	bobKey := signUp("Bob", "")
	if bobKey == aliceKey {
		t.Fatal("Alice and Bob have one key")
	}
	waitFor("Bob's overdraft limit", text("me-limit"), "0.00")
	signOut()

	// Sign in as Alice with her key; the tab keeps her signed in across
	// a reload, and the operator's parts are not shown to her.
	signIn(aliceKey, "Alice")
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#account-section")); err != nil {
		t.Fatalf("reload the page: %v", err)
	}
	instrument()
	waitFor("who is signed in after a reload", text("whoami"), "Signed in as Alice.")
	waitFor("the operator's section for Alice", visible("operator-section"), "hidden")
	waitFor("the key after a reload", visible("new-key-box"), "hidden")

	rowsJS := `[...document.querySelectorAll("#transfers tr")].map(r => ({
		id: r.dataset.id, from: r.children[1].textContent, to: r.children[2].textContent,
		status: r.querySelector(".status").textContent,
		path: r.querySelector(".path").textContent}))`
	rows := func() []transferRow {
		t.Helper()
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]transferRow](rowsJS))
		if err != nil {
			t.Fatalf("read the transfers: %v", err)
		}
		return rows
	}

	fill("#send-btn", map[string]string{"#send-to": "Bob", "#send-amount": "2.50"})
	waitMessage("the transfer's outcome", "ok: Transfer ")
	waitFor("Alice's balance after the transfer", text("me-balance"), "-2.50")
	var sent transferRow
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		all := rows()
		for _, r := range all {
			if r.From == "Alice" && r.To == "Bob" {
				sent = r
			}
		}
		if sent.Status == "completed" && strings.Contains(sent.Path, "·") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the transfer on the page: %+v (all: %+v), want it completed with its path", sent, all)
		}
	}

	// A double click on Send sends one transfer.
	doubleClick("#send-btn", map[string]string{"#send-to": "Bob", "#send-amount": "1.00"})
	waitMessage("the outcome of the double-clicked transfer", "ok: Transfer ")
	waitFor("Alice's balance after the double-clicked transfer", text("me-balance"), "-3.50")
	waitFor("the Send button after the transfer", `String(document.getElementById("send-btn").disabled)`, "false")
	if got := posts("/api/v1/transfers"); len(got) != 2 {
		t.Errorf("the page sent %d transfers for one click and one double click: %+v", len(got), got)
	} else if a, b := requestID(t, got[0].Body), requestID(t, got[1].Body); a == b || !v4.MatchString(a) || !v4.MatchString(b) {
		t.Errorf("the transfers' request IDs are %s and %s, want two version 4 UUIDs", a, b)
	}

	fill("#withdraw-btn", map[string]string{"#withdraw-amount": "1.00"})
	waitMessage("the withdrawal's outcome", "ok: Withdrawal ")
	waitFor("Alice's balance after the withdrawal", text("me-balance"), "-4.50")

	// A transfer the accountant rejects is an error, with its reason.
	fill("#send-btn", map[string]string{"#send-to": "Bob", "#send-amount": "500.00"})
	waitMessage("the rejected transfer", "error: Transfer ")
	if got := eval("the rejection", message); !strings.Contains(got, "rejected: insufficient_funds") {
		t.Errorf("the page says %q of a transfer beyond the overdraft limit", got)
	}
	waitUntil("the rejected transfer's row", `JSON.stringify([...document.querySelectorAll("#transfers .status.rejected")].map(e => e.textContent))`,
		func(got string) bool { return got == `["rejected: insufficient_funds"]` })
	// A transfer the API refuses (4xx) shows its message and code.
	fill("#send-btn", map[string]string{"#send-to": "Carol", "#send-amount": "1.00"})
	waitMessage("the refused transfer", "error: Transfer refused: ")
	if got := eval("the refusal", message); !strings.Contains(got, "(account_not_found, HTTP 404)") {
		t.Errorf("the page says %q of a transfer to an account that does not exist", got)
	}
	waitFor("Alice's balance at the end", text("me-balance"), "-4.50")
	signOut()

	// The operator deposits, and sees every account and every transfer
	// this tab sent.
	signIn(pageOperatorKey, "the operator")
	waitFor("the operator's section", visible("operator-section"), "visible")
	waitFor("the account section for the operator", visible("account-section"), "hidden")
	waitFor("Alice's balance in the list", balance("Alice"), "-4.50")
	waitFor("Bob's balance in the list", balance("Bob"), "3.50")
	doubleClick("#deposit-btn", map[string]string{"#deposit-account": "Alice", "#deposit-amount": "10.00"})
	waitMessage("the deposit's outcome", "ok: Deposit ")
	waitFor("Alice's balance after the deposit", balance("Alice"), "5.50")
	waitFor("the Deposit button after the deposit", `String(document.getElementById("deposit-btn").disabled)`, "false")
	if got := posts("/api/v1/deposits"); len(got) != 1 {
		t.Errorf("the page sent %d deposits for one double click: %+v", len(got), got)
	}
	fill("#op-withdraw-btn", map[string]string{"#op-withdraw-account": "Bob", "#op-withdraw-amount": "0.50"})
	waitMessage("the operator's withdrawal", "ok: Withdrawal ")
	waitFor("Bob's balance after the operator's withdrawal", balance("Bob"), "3.00")
	waitUntil("the transfers the operator sees", `String(document.querySelectorAll("#transfers tr").length)`,
		func(got string) bool { return got == "6" })

	// The first transfer's path through the partitions, as Kafka's
	// partitioner places its request and both accounts.
	want := "transfer_request p" + strconv.Itoa(int(topology.Partition(sent.ID, partitions))) + " · paymentd" +
		"→Alice p" + strconv.Itoa(int(topology.Partition("alice", partitions))) + " · debit" +
		"→Bob p" + strconv.Itoa(int(topology.Partition("bob", partitions))) + " · credit"
	if sent.Path != want {
		t.Errorf("the transfer's path on the page is\n%s\nwant\n%s", sent.Path, want)
	}
	for _, r := range rows() {
		if r.ID == sent.ID && (r.Status != "completed" || r.Path != want) {
			t.Errorf("the operator sees the transfer as %+v", r)
		}
	}

	signOut()
	if got := eval("the page's storage", `String(localStorage.length) + " " + location.href`); got != "0 "+base+"/" {
		t.Errorf("localStorage and address after signing out: %q, want nothing kept and no key in the address", got)
	}

	// The console: no error but the 404 of the transfer to Carol, which
	// the browser logs for any request answered 4xx.
	stopConsole()
	consoleMu.Lock()
	for _, m := range console {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if strings.HasSuffix(m.URL, "/api/v1/transfers") && strings.Contains(m.Text, "404") {
			continue
		}
		t.Errorf("the page's console: %s (%s)", m, m.URL)
	}
	consoleMu.Unlock()

	for _, path := range []string{"/favicon.ico", "/goka/", "/goka/monitor/", "/goka/query/"} {
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

// requestID returns the request_id of a JSON body the page sent.
func requestID(t *testing.T, body string) string {
	t.Helper()
	var b struct {
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("the page sent %q: %v", body, err)
	}
	return b.RequestID
}
