package views

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lovoo/goka"
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
}

func newTable(brokers []string, name goka.Table, codec goka.Codec, opts []goka.ViewOption) (*table, error) {
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

// current returns the view as it is now.
func (t *table) current() *goka.View {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.view
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
// asked to.
func (t *table) Run(ctx context.Context) error {
	for {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func(v *goka.View) { done <- v.Run(runCtx) }(t.current())
		select {
		case err := <-done:
			stop()
			if err != nil {
				return fmt.Errorf("view of %s: %w", t.name, err)
			}
			return nil
		case <-t.rebuild:
		}
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

// Recovered reports whether the view has caught up with the table once
// since it was last built.
func (t *table) Recovered() bool { return t.current().Recovered() }
