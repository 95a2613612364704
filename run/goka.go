package run

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
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
// damaged view is rebuilt as a new one) and reads by key.
type gokaView interface {
	Table() goka.Table
	Current() *goka.View
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

func (w *gokaWeb) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.router().ServeHTTP(rw, r)
}

// router builds goka's servers with the current processors and views.
// The monitor lists them in a stable order (group, then table), since its
// pages address them by index.
func (w *gokaWeb) router() *mux.Router {
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

	router := mux.NewRouter()
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
	for _, v := range views {
		if current := v.Current(); current != nil {
			mon.AttachView(current)
		}
		if err := qry.AttachSource("view:"+string(v.Table()), v.Value); err != nil {
			slog.Warn("goka query page", "error", err)
		}
	}
	return router
}

// withGoka serves h, and goka's pages under /goka/.
func withGoka(h http.Handler, w *gokaWeb) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle(gokaPrefix+"/", w)
	return mux
}
