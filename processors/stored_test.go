package processors

import (
	"context"
	"testing"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
)

// stoppingContext is the goka.Context of a callback whose partition is
// stopping and whose table read failed: goka's Value then returns nil
// rather than stopping the callback.
type stoppingContext struct {
	gokaContext // the methods stored does not call
	ctx         context.Context
	// commit records how the input's commit was finished.
	commit *error
}

// gokaContext lets stoppingContext embed goka.Context under another name
// than its method Context.
type gokaContext = goka.Context

func (c stoppingContext) Value() any               { return nil }
func (c stoppingContext) Context() context.Context { return c.ctx }
func (c stoppingContext) Group() goka.Group        { return "accountant" }
func (c stoppingContext) Key() string              { return "bob" }
func (c stoppingContext) DeferCommit() func(error) {
	return func(err error) { *c.commit = err }
}

// A read that failed while the partition stops is not taken for "no value":
// nothing may be decided from it, and the input must not be committed.
func TestStoredRefusesAFailedReadWhileStopping(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var commit error
	if v, ok := stored[wallet.Account](stoppingContext{ctx: done, commit: &commit}, nil); ok || v != nil {
		t.Errorf("stored = %v, %v while the partition stops, want nothing to decide on", v, ok)
	}
	if commit == nil {
		t.Error("the input's commit was not failed: it would be committed without a decision")
	}
	commit = nil
	if v, ok := stored[wallet.Account](stoppingContext{ctx: context.Background(), commit: &commit}, nil); !ok || v != nil || commit != nil {
		t.Errorf("stored = %v, %v (commit %v) for a running partition without a value, want none, ok and no commit failed", v, ok, commit)
	}
}
