package views

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet/processors"
)

// table is a goka View of one table that can be built again while the
// process runs. A local copy found damaged at open heals as it opens (the
// storage moves it aside and goka recovers it from the changelog); one
// found damaged while the view runs refuses every read and write from
// then on, and goka's view would retry with it for ever. Rebuild makes Run
// close the view and open a new one, which heals the same way.
type table struct {
	name    goka.Table
	build   func() (*goka.View, error)
	rebuild chan struct{}

	mu   sync.RWMutex
	view *goka.View
	// caughtUp is set once the view has caught up with the table since
	// it was built: until then it holds part of the table, and reads
	// fail rather than answer from it (goka's View lets them).
	caughtUp atomic.Bool
}

// newTable returns the view of table name, whose changelog records are
// read by read with the bounds b, which must validate, before opts.
func newTable(brokers []string, name goka.Table, codec goka.Codec, b processors.Bounds, read func(processors.Bounds) goka.UpdateCallback, opts []goka.ViewOption) (*table, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("create view of %s: %w", name, err)
	}
	opts = append([]goka.ViewOption{goka.WithViewCallback(read(b))}, opts...)
	t := &table{
		name: name,
		build: func() (*goka.View, error) {
			v, err := goka.NewView(brokers, name, codec, opts...)
			if err != nil {
				return nil, fmt.Errorf("create view of %s: %w", name, err)
			}
			return v, nil
		},
		rebuild: make(chan struct{}, 1),
	}
	v, err := t.build()
	if err != nil {
		return nil, err
	}
	t.view = v
	return t, nil
}

// get reads key from the view. A rebuild does not close the view while a
// read holds it (goka's View may not be read while it closes).
func (t *table) get(key string) (any, error) {
	var v any
	err := t.use(func(view *goka.View) (err error) {
		v, err = view.Get(key)
		return err
	})
	return v, err
}

// use calls fn with the view, which a rebuild does not close until fn
// returns; during a rebuild, and until the view has caught up with the
// table once, it fails.
func (t *table) use(fn func(*goka.View) error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.view == nil {
		return fmt.Errorf("the view of %s is closed, or being rebuilt", t.name)
	}
	if !t.recovered() {
		return fmt.Errorf("the view of %s is recovering", t.name)
	}
	return fn(t.view)
}

// recovered reports whether the view has caught up with the table once
// since it was built. The caller holds t.mu.
func (t *table) recovered() bool {
	if t.caughtUp.Load() {
		return true
	}
	if t.view != nil && t.view.Recovered() {
		t.caughtUp.Store(true)
		return true
	}
	return false
}

// each calls fn for every key of the view with its decoded value, or the
// error decoding it, stopping at the first error fn returns.
func (t *table) each(fn func(key string, v any, err error) error) error {
	return t.use(func(view *goka.View) error {
		it, err := view.Iterator()
		if err != nil {
			return fmt.Errorf("iterate %s: %w", t.name, err)
		}
		defer it.Release()
		for it.Next() {
			v, err := it.Value()
			if err == nil && v == nil {
				continue
			}
			if err := fn(it.Key(), v, err); err != nil {
				return err
			}
		}
		return it.Err()
	})
}

// Rebuild asks Run to open the view again, because its local copy was
// found damaged.
func (t *table) Rebuild() {
	select {
	case t.rebuild <- struct{}{}:
	default: // already asked
	}
}

// Run keeps the view up to date until ctx is done, building it again when
// asked to. goka's View closes its storage as its Run returns, and may
// not be read while it closes: the view is taken away from the readers
// before its Run is told to stop, at a rebuild and at the end alike.
func (t *table) Run(ctx context.Context) error {
	for {
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		t.mu.RLock()
		view := t.view
		t.mu.RUnlock()
		// The view's state goes back from running for a moment when
		// each partition, recovered, starts following the table: the
		// first time it runs is what says it has caught up once.
		running := view.WaitRunning()
		go func() {
			select {
			case <-running:
				t.mu.RLock()
				if t.view == view {
					t.caughtUp.Store(true)
				}
				t.mu.RUnlock()
			case <-runCtx.Done():
			}
		}()
		go func() { done <- view.Run(runCtx) }()
		select {
		case err := <-done:
			// The view failed, and goka has closed it: a read at that
			// moment races with the close, which only goka could prevent.
			stop()
			if err != nil {
				return fmt.Errorf("view of %s: %w", t.name, err)
			}
			return nil
		case <-ctx.Done():
			t.take()
			stop()
			if err := <-done; err != nil {
				return fmt.Errorf("view of %s: %w", t.name, err)
			}
			return nil
		case <-t.rebuild:
		}
		t.take()
		stop()
		if err := <-done; err != nil {
			slog.Warn("view stopped with an error before its rebuild", "table", t.name, "error", err)
		}
		slog.Warn("building the view again: a local table was found damaged", "table", t.name)
		v, err := t.build()
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.view = v
		t.mu.Unlock()
	}
}

// take takes the view away from the readers once none holds it: only
// then may it close.
func (t *table) take() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.view = nil
	t.caughtUp.Store(false)
}

// Recovered reports whether the view is caught up with the table: not
// while it recovers after a start or a rebuild, nor while it reconnects
// (when it goes on answering from what it has).
func (t *table) Recovered() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.view == nil || !t.view.Recovered() {
		return false
	}
	t.caughtUp.Store(true)
	return true
}

// Table returns the name of the table the view holds.
func (t *table) Table() goka.Table { return t.name }

// Hold returns the goka View as it is now, nil while it is rebuilt or
// once it has stopped, for goka's monitor page, which reads its
// statistics: the View is not closed until release is called. Until then
// the caller must not read through t (get, each): a rebuild or a stop
// waiting for the View would hold that read back, and the read the stop.
func (t *table) Hold() (view *goka.View, release func()) {
	t.mu.RLock()
	if t.view == nil {
		t.mu.RUnlock()
		return nil, func() {}
	}
	return t.view, t.mu.RUnlock
}

// Value returns the decoded value of key, nil when the table has none:
// for goka's query page. A rebuild does not close the view while it
// reads.
func (t *table) Value(key string) (any, error) { return t.get(key) }
