package run

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet/internal/viewtest"
)

// goka's monitor reads a view's statistics while the view stops, as an
// operator's page may at a shutdown or a rebuild: the view is held open
// while the page reads it, and never read as goka closes it (run with
// -race). Seen before: the monitor was handed the View and read its
// partitions as View.Run's close cleared them, as the API's reads did
// (views/TestReadsWhileTheViewStops).
func TestMonitorWhileTheViewStops(t *testing.T) {
	tt := tester.New(t)
	signups, stop := viewtest.StoppableSignups(t, tt)
	w := newGokaWeb()
	w.addViews(signups)
	stats := func() int {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, gokaPrefix+"/monitor/data/view/0", nil))
		return rec.Code
	}
	if code := stats(); code != http.StatusOK {
		t.Fatalf("the view's statistics answered %d, want 200", code)
	}

	viewtest.ReadWhile(stop, func() { stats() })
	if code := stats(); code != http.StatusNotFound {
		t.Errorf("the statistics of a stopped view answered %d, want 404", code)
	}
}
