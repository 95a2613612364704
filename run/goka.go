package run

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/web/index"
	"github.com/lovoo/goka/web/monitor"
	"github.com/lovoo/goka/web/query"
)

// gokaPrefix is where goka's own pages are served: an index, the monitor
// (each processor's and view's partitions, offsets and state) and the
// query page (a table's value by key).
const gokaPrefix = "/goka"

// gokaView is a view as goka's pages need it: its current goka View (a
// damaged view is rebuilt as a new one), held open while a page reads it,
// and reads by key.
type gokaView interface {
	Table() goka.Table
	Hold() (view *goka.View, release func())
	Value(key string) (any, error)
}

// gokaWeb serves goka's monitor and query pages for the processors and
// views of this process.
//
// goka's monitor.Server can attach a processor but never detach one, and
// the processors are created again on every restart of their group. So
// gokaWeb keeps only the current processor of each group and builds
// goka's servers afresh for every request, with what is current then: the
// pages show the processors that run now, never one that was replaced.
// Building them is a few allocations; the pages are for operators.
type gokaWeb struct {
	mu         sync.Mutex
	processors map[goka.Group]*goka.Processor
	views      []gokaView
}

func newGokaWeb() *gokaWeb {
	return &gokaWeb{processors: map[goka.Group]*goka.Processor{}}
}

// setProcessor makes proc the group's current processor.
func (w *gokaWeb) setProcessor(group goka.Group, proc *goka.Processor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.processors[group] = proc
}

// dropProcessor forgets the group's processor, if it is still proc: it has
// stopped.
func (w *gokaWeb) dropProcessor(group goka.Group, proc *goka.Processor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.processors[group] == proc {
		delete(w.processors, group)
	}
}

// addViews adds views to the pages.
func (w *gokaWeb) addViews(views ...gokaView) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.views = append(w.views, views...)
}

// processor returns the group's current processor, or nil.
func (w *gokaWeb) processor(group goka.Group) *goka.Processor {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.processors[group]
}

// ServeHTTP serves goka's pages, with their scripts and style sheets
// loaded from gokaAssets (see gokaHead).
func (w *gokaWeb) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	res := &gokaResponse{header: http.Header{}}
	// The views are released before the response goes to a client that
	// may be slow, and even if goka's page panics (net/http recovers
	// it): a view held for good would never close.
	func() {
		router, release := w.router(strings.HasPrefix(r.URL.Path, gokaPrefix+"/monitor"))
		defer release()
		router.ServeHTTP(res, r)
	}()
	res.send(rw)
}

// router builds goka's servers with the current processors and views.
// The monitor lists them in a stable order (group, then table), since its
// pages address them by index. With monitoring, the views are attached
// to the monitor, which reads their statistics, and held open until
// release is called; a monitor page reads no value by key, which a view
// held must not be asked for (views' Hold).
func (w *gokaWeb) router(monitoring bool) (router *mux.Router, release func()) {
	w.mu.Lock()
	groups := make([]goka.Group, 0, len(w.processors))
	for g := range w.processors {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i] < groups[j] })
	procs := make([]*goka.Processor, len(groups))
	for i, g := range groups {
		procs[i] = w.processors[g]
	}
	views := append([]gokaView(nil), w.views...)
	w.mu.Unlock()
	sort.Slice(views, func(i, j int) bool { return views[i].Table() < views[j].Table() })

	router = mux.NewRouter()
	mon := monitor.NewServer(gokaPrefix+"/monitor", router)
	qry := query.NewServer(gokaPrefix+"/query", router)
	// Registered last: its prefix holds the others'.
	idx := index.NewServer(gokaPrefix, router)
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	for i, proc := range procs {
		mon.AttachProcessor(proc)
		group := groups[i]
		// The processor's own table: a key of a partition that this
		// process does not hold answers with goka's error.
		get := func(key string) (any, error) {
			p := w.processor(group)
			if p == nil {
				return nil, fmt.Errorf("processor %s is not running", group)
			}
			return p.Get(key)
		}
		// Names never collide: processor: and view: are apart, and
		// there is one processor per group and one view per table.
		if err := qry.AttachSource("processor:"+string(goka.GroupTable(group)), get); err != nil {
			slog.Warn("goka query page", "error", err)
		}
	}
	var releases []func()
	for _, v := range views {
		if monitoring {
			if held, release := v.Hold(); held != nil {
				mon.AttachView(held)
				releases = append(releases, release)
			}
		}
		if err := qry.AttachSource("view:"+string(v.Table()), v.Value); err != nil {
			slog.Warn("goka query page", "error", err)
		}
	}
	return router, func() {
		for _, release := range releases {
			release()
		}
	}
}

// withGoka serves h, and goka's pages under /goka/ with their scripts
// and style sheets under /goka/assets/.
func withGoka(h http.Handler, w *gokaWeb) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle(gokaPrefix+"/", w)
	mux.Handle(gokaAssetsPrefix, http.StripPrefix(gokaAssetsPrefix, http.HandlerFunc(serveGokaAsset)))
	return mux
}

// gokaAssets are the libraries that goka's pages load, with their
// licences, which are served beside them. gokaweb/README.md says where
// each comes from and why its version differs from the one goka names.
//
//go:embed gokaweb
var gokaAssets embed.FS

// gokaAssetsPrefix is where the files of gokaAssets are served.
const gokaAssetsPrefix = gokaPrefix + "/assets/"

// serveGokaAsset serves a file of gokaAssets, named by the request's path
// below gokaAssetsPrefix. Each path names its library's version, so a
// path's content never changes and browsers may keep it.
func serveGokaAsset(rw http.ResponseWriter, r *http.Request) {
	name := "gokaweb/" + r.URL.Path
	if info, err := fs.Stat(gokaAssets, name); err != nil || info.IsDir() {
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(rw, r, gokaAssets, name)
}

// gokaHead rewrites the tags by which goka's pages load jQuery, Bootstrap,
// lodash and d3 from public CDNs into tags that load them from
// gokaAssets, so that the pages work on a network that does not reach the
// internet (without d3 the monitor draws no table). The files then come
// from the server of the page, as the page does: nothing is loaded over
// plain HTTP from a third party, and no integrity hash is needed, since
// whoever could change the files could change the page.
//
// The tags are those of goka v1.1.16 (web/templates/common/head.go.html),
// copied exactly. goka offers no way to serve other templates: every page
// reads them through templates.DefaultLoader, whose type is goka's own
// *EmbedLoader, and no server takes a loader as an option. So rather than
// patch goka, the pages are rewritten as they are served, tag by tag. A
// goka whose head differs would be served unchanged, with the CDNs, and
// TestGokaPages fails: it checks that every tag of goka's head is
// rewritten.
var gokaHead = strings.NewReplacer(
	// No style of goka's pages uses these fonts.
	`<link href='https://fonts.googleapis.com/css?family=Open+Sans+Condensed:300|Open+Sans' rel='stylesheet' type='text/css'>`,
	``,
	`<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/3.3.7/css/bootstrap.min.css" integrity="sha384-BVYiiSIFeK1dGmJRAkycuHAHRg32OmUcww7on3RYdg4Va+PmSTsz/K68vbdEjh4u" crossorigin="anonymous">`,
	gokaStyle("bootstrap-3.4.1/css/bootstrap.min.css"),
	`<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/3.3.7/css/bootstrap-theme.min.css" integrity="sha384-rHyoN1iRsVXV4nD0JutlnGaslCJuC7uwjduW9SVrLvRYooPp2bWYgmgJQIXwl/Sp" crossorigin="anonymous">`,
	gokaStyle("bootstrap-3.4.1/css/bootstrap-theme.min.css"),
	`<script src="//ajax.googleapis.com/ajax/libs/jquery/1.11.0/jquery.min.js"></script>`,
	gokaScript("jquery-3.7.1/jquery.min.js"),
	`<script src="https://maxcdn.bootstrapcdn.com/bootstrap/3.3.7/js/bootstrap.min.js" integrity="sha384-Tc5IQib027qvyjSMfHjOMaLkfuWVxZxUPnCJA7l2mCWNIpG9mGCD8wGNIcPD7Txa" crossorigin="anonymous"></script>`,
	gokaScript("bootstrap-3.4.1/js/bootstrap.min.js"),
	`<script src="https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.1/lodash.min.js"></script>`,
	gokaScript("lodash-4.18.1/lodash.min.js"),
	`<script src="https://d3js.org/d3.v4.min.js"></script>`,
	gokaScript("d3-4.13.0/d3.min.js"),
)

// gokaStyle is a tag that loads the style sheet file of gokaAssets.
func gokaStyle(file string) string {
	return `<link rel="stylesheet" href="` + gokaAssetsPrefix + file + `">`
}

// gokaScript is a tag that loads the script file of gokaAssets.
func gokaScript(file string) string {
	return `<script src="` + gokaAssetsPrefix + file + `"></script>`
}

// gokaResponse holds a response of goka's pages until it is complete, so
// that its HTML can be rewritten by gokaHead. The responses are small: a page
// or the JSON of its statistics.
type gokaResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (p *gokaResponse) Header() http.Header { return p.header }

func (p *gokaResponse) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}

func (p *gokaResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.body.Write(b)
}

// send writes the response to rw, its HTML rewritten by gokaHead. goka
// sets no Content-Type on its pages, so it is sniffed here as net/http
// would have done.
func (p *gokaResponse) send(rw http.ResponseWriter) {
	body := p.body.Bytes()
	if p.header.Get("Content-Type") == "" && len(body) > 0 {
		p.header.Set("Content-Type", http.DetectContentType(body))
	}
	if strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		body = []byte(gokaHead.Replace(string(body)))
		p.header.Del("Content-Length")
	}
	for k, v := range p.header {
		rw.Header()[k] = v
	}
	p.WriteHeader(http.StatusOK)
	rw.WriteHeader(p.code)
	rw.Write(body)
}
