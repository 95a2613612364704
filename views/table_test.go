package views_test

import (
	"sync/atomic"
	"testing"

	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet/internal/viewtest"
	"github.com/wallet/wallet/topology"
)

// Reads that go on while the view stops, as the API's do while the
// service shuts down, are refused with an error once the view is gone,
// and never read it as goka closes it (run with -race). Seen before: the
// race detector caught a read of goka's View in its Get while its Run
// closed it (run/TestZombieProcessorIsFenced's shutdown), and such a
// read could index the partitions that the close had just taken away.
func TestReadsWhileTheViewStops(t *testing.T) {
	tt := tester.New(t)
	s, stop := viewtest.StoppableSignups(t, tt)
	tt.Consume(string(topology.SignupTable), "alice", signupWithKeys(1, "first"))
	if _, ok, err := s.Signup("alice"); !ok || err != nil {
		t.Fatalf("Signup(alice) = %t, %v; want it", ok, err)
	}

	var refused atomic.Int64
	viewtest.ReadWhile(stop, func() {
		if _, _, err := s.Signup("alice"); err != nil {
			refused.Add(1)
		}
	})
	if _, _, err := s.Signup("alice"); err == nil {
		t.Error("a read after the view stopped was answered")
	}
	if refused.Load() == 0 {
		t.Error("no read was refused: did the view stop while they ran?")
	}
}
