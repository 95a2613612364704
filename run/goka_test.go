package run_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lovoo/goka/web/templates"

	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// gokaLink is a URL that a page of goka's loads or links to.
var gokaLink = regexp.MustCompile(`(?:src|href)\s*=\s*["']([^"']*)["']`)

// gokaPageLink is a link of the monitor's index to a processor's or a
// view's page.
var gokaPageLink = regexp.MustCompile(`href="(/goka/monitor/(?:processor|view)/\d+)"`)

// TestGokaPages opens goka's pages at /goka/ on a network that does not
// reach the internet, as an operator's often does (issue 19, part 5).
// goka's pages loaded jQuery, Bootstrap, lodash and d3 from public CDNs
// (jQuery over plain HTTP from an HTTP page, four without an integrity
// hash); there all of them failed, and the monitor drew no table:
// "ReferenceError: d3 is not defined". The wallet serves them from its
// binary. This checks that every tag of goka's page head is rewritten (a
// goka whose head changed fails here), that every script, style sheet and
// link of the pages is a path of the wallet's server that it serves, and
// in headless Chromium, with every outside host unresolvable, that the
// monitor draws the partition and traffic tables of each processor and
// view, that Bootstrap's menu of the query page opens, and that the
// console shows no error.
func TestGokaPages(t *testing.T) {
	const partitions = 2
	c := config(t, embeddedBroker(t), partitions)
	base := "http://" + serve(t, c, func(ctx context.Context, c run.Config) error { return run.All(ctx, c, "") })
	// The processors are on the monitor once they run.
	waitReadiness(t, base, http.StatusOK, time.Minute)

	get := func(t *testing.T, path string) (string, *http.Response) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, res.Status, body)
		}
		return string(body), res
	}

	index, _ := get(t, "/goka/monitor/")
	// Each page is linked twice: by the menu and the list.
	var monitored []string
	for _, m := range gokaPageLink.FindAllStringSubmatch(index, -1) {
		if !slices.Contains(monitored, m[1]) {
			monitored = append(monitored, m[1])
		}
	}
	processors := strings.Count(strings.Join(monitored, " "), "/processor/")
	if want := len(topology.Graphs()); processors != want || len(monitored) == processors {
		t.Fatalf("the monitor links to %v: want %d processors and the views", monitored, want)
	}
	pages := append([]string{"/goka/", "/goka/monitor/", "/goka/query/"}, monitored...)

	t.Run("local", func(t *testing.T) {
		// goka's page head: each tag that loads a script or a style
		// sheet must be replaced.
		head, err := templates.DefaultLoader.LoadTemplates("web/templates/common/head.go.html")
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for line := range strings.Lines(head) {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "<script") || strings.HasPrefix(line, "<link") {
				tags = append(tags, line)
			}
		}
		if len(tags) == 0 {
			t.Fatalf("goka's page head loads nothing:\n%s", head)
		}
		assets := map[string]bool{}
		for _, path := range pages {
			page, _ := get(t, path)
			for _, tag := range tags {
				if strings.Contains(page, tag) {
					t.Errorf("%s: goka's tag is served unchanged: %s", path, tag)
				}
			}
			for _, m := range gokaLink.FindAllStringSubmatch(page, -1) {
				link := m[1]
				switch {
				case link == "#":
				case strings.HasPrefix(link, "/goka/assets/"):
					assets[link] = true
				case strings.HasPrefix(link, "/goka/") && !strings.Contains(link, "//"):
				default:
					t.Errorf("%s: links to %q, not to a page or file of the wallet's", path, link)
				}
			}
		}
		if len(assets) == 0 {
			t.Errorf("the pages load no file from /goka/assets/")
		}
		for link := range assets {
			body, res := get(t, link)
			ct := res.Header.Get("Content-Type")
			if !(strings.HasSuffix(link, ".js") && strings.HasPrefix(ct, "text/javascript")) &&
				!(strings.HasSuffix(link, ".css") && strings.HasPrefix(ct, "text/css")) {
				t.Errorf("GET %s: Content-Type %q", link, ct)
			}
			if len(body) < 1000 {
				t.Errorf("GET %s: %d bytes", link, len(body))
			}
		}
		// Each library's licence is served beside it.
		for link := range assets {
			lib := strings.SplitN(strings.TrimPrefix(link, "/goka/assets/"), "/", 2)[0]
			served := false
			for _, name := range []string{"LICENSE", "LICENSE.txt"} {
				res, err := http.Get(base + "/goka/assets/" + lib + "/" + name)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				served = served || res.StatusCode == http.StatusOK
			}
			if !served {
				t.Errorf("%s: no licence served beside it", link)
			}
		}
		for _, path := range []string{"/goka/assets/", "/goka/assets/d3-4.13.0/", "/goka/assets/nothing.js"} {
			res, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Errorf("GET %s: %s, want no directory listing and no file that is not there", path, res.Status)
			}
		}
	})

	t.Run("browser", func(t *testing.T) {
		chrome := browser(t)
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chrome),
			// As in TestPage: no user namespaces for the sandbox.
			chromedp.NoSandbox,
			// No outside host resolves: the network of an operator
			// that does not reach the internet. The pages are on
			// 127.0.0.1, an address, which needs no resolving.
			chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		)
		ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
		defer cancel()
		ctx, cancel = chromedp.NewContext(ctx)
		defer cancel()
		ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()

		// Every message of the console, from before the first page: a
		// file that fails to load (an outside host that does not
		// resolve, a 404) and an uncaught exception are errors there.
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
		// consoleErrors reports the console's errors once.
		var reportOnce sync.Once
		consoleErrors := func() {
			reportOnce.Do(func() {
				stopConsole()
				consoleMu.Lock()
				defer consoleMu.Unlock()
				for _, m := range console {
					if m.Type == chromedp.ConsoleError || m.IsException() {
						t.Errorf("the console: %s (%s)", m, m.URL)
					}
				}
			})
		}

		eval := func(what, expr string) string {
			t.Helper()
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
			if err != nil {
				consoleErrors()
				t.Fatalf("%s: %v", what, err)
			}
			return got
		}
		// waitFor evaluates expr on the page until it is want: the
		// monitor fetches its statistics when the page loads, then
		// every 2 s. It stops the test at the first page that fails,
		// with the console's errors, which tell why.
		waitFor := func(what, expr, want string) {
			t.Helper()
			var got string
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if got = eval(what, expr); got == want {
					return
				}
			}
			consoleErrors()
			t.Fatalf("%s: the page shows %q, want %q", what, got, want)
		}
		open := func(path string) {
			t.Helper()
			if err := chromedp.Do(ctx, chromedp.Navigate(base+path)); err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
		}
		rows := func(id string) string {
			return `String(document.querySelectorAll("#` + id + ` tr").length)`
		}
		libraries := `[typeof d3, typeof _, typeof jQuery, typeof (window.jQuery && jQuery.fn.dropdown)].join(" ")`

		open("/goka/")
		waitFor("the index's components", `String(document.querySelectorAll(".panel-title a").length)`, "2")
		for _, path := range monitored {
			open(path)
			waitFor(path+": libraries", libraries, "object function function function")
			if strings.Contains(path, "/processor/") {
				// This process holds every partition of every group.
				waitFor(path+": partition table rows", rows("tableStatistics"), strconv.Itoa(partitions))
				waitFor(path+": input traffic rows", `String(document.querySelectorAll("#inputStatistics tr").length > 0)`, "true")
				waitFor(path+": output traffic rows", `String(document.querySelectorAll("#outputStatistics tr").length > 0)`, "true")
				waitFor(path+": the rows' state", `[...document.querySelectorAll("#tableStatistics tr td:nth-child(2)")].map(td => td.textContent).join(",")`,
					strings.Repeat(",running (active)", partitions)[1:])
			} else {
				waitFor(path+": partition table rows", rows("viewStatistics"), strconv.Itoa(partitions))
			}
		}
		open("/goka/query/")
		if err := chromedp.Do(ctx, chromedp.Click(".dropdown-toggle")); err != nil {
			t.Fatalf("open the query page's menu: %v", err)
		}
		waitFor("the query page's menu (Bootstrap with jQuery)", `String(document.querySelector(".dropdown-toggle").parentElement.classList.contains("open"))`, "true")
		if os.Getenv("GOKA_SCREENSHOT") != "" {
			// A look at the monitor, for whoever changes the files.
			open(monitored[0])
			waitFor("partition table rows", rows("tableStatistics"), strconv.Itoa(partitions))
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(os.Getenv("GOKA_SCREENSHOT"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}

		consoleErrors()
	})
}
