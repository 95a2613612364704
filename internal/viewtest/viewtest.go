// Package viewtest runs the wallet's views under goka's tester, for the
// tests of the views and of the API that reads them.
package viewtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/views"
)

// Signups runs a view of the signup table under tt until the test ends,
// and returns it once it has caught up.
func Signups(tb testing.TB, tt *tester.Tester) *views.Signups {
	tb.Helper()
	s, _ := StoppableSignups(tb, tt)
	return s
}

// StoppableSignups is Signups, with a function that stops the view and
// waits until it has.
func StoppableSignups(tb testing.TB, tt *tester.Tester) (*views.Signups, func()) {
	tb.Helper()
	// The tester has one partition and no end offsets: every version is
	// within bounds.
	bounds := processors.Bounds{Partitions: 1, End: func(goka.Stream, int32) (int64, error) { return 1 << 40, nil }}
	s, err := views.NewSignups(nil, bounds, goka.WithViewTester(tt))
	if err != nil {
		tb.Fatalf("create the signup view: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("signup view stopped with: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); !s.Recovered(); {
		if time.Now().After(deadline) {
			tb.Fatal("the signup view did not recover within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	return s, stop
}

// ReadWhile calls read from four goroutines, over and over, until stop
// has returned: what a service's readers do while it shuts down.
func ReadWhile(stop func(), read func()) {
	var readers sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				read()
			}
		})
	}
	stop()
	close(done)
	readers.Wait()
}
