package disk_test

import (
	"testing"

	"github.com/wallet/wallet/disk"
)

// TestFloor runs a Floor of 48 through measurements of a disk of 400 whose
// writer's files take 80 while it runs, 77 of them allocated ahead and
// given back by the stop, as RocksDB's logs are.
func TestFloor(t *testing.T) {
	const size, floor = 400, 48
	type step struct {
		free, used uint64
		stopped    bool
		want       bool   // full
		need       uint64 // when full
	}
	for _, c := range []struct {
		name  string
		min   uint64 // floor unless set
		steps []step
	}{
		{"the stop's space is held in reserve", 0, []step{
			{free: 300, used: 80, want: false},
			{free: 44, used: 80, want: true, need: floor},              // stop
			{free: 90, used: 30, want: true, need: floor},              // stopping
			{free: 121, used: 3, stopped: true, want: true, need: 125}, // gave back 77
			{free: 124, used: 3, stopped: true, want: true, need: 125},
			{free: 125, used: 3, stopped: true, want: false}, // start again
			{free: 60, used: 80, want: false},
			{free: 47, used: 80, want: true, need: floor},              // and stop again
			{free: 124, used: 3, stopped: true, want: true, need: 125}, // measured afresh
			{free: 125, used: 3, stopped: true, want: false},           // and start
		}},
		// Issue 19: with the reserve measured as a difference of free
		// space, the operator's 256 landed in it: 44 free at the stop,
		// 377 once stopped, so 48 + 333 = 381 needed, and never reached.
		{"space freed before the writer stopped", 0, []step{
			{free: 44, used: 80, want: true, need: floor},
			{free: 300, used: 80, want: true, need: floor},
			{free: 377, used: 3, stopped: true, want: false},
		}},
		{"space freed within a second of the stop", 0, []step{
			{free: 44, used: 80, want: true, need: floor},
			{free: 121, used: 3, want: true, need: floor}, // stopped, not yet seen so
			{free: 377, used: 3, stopped: true, want: false},
		}},
		// A process started on a full disk has closed nothing: it waits
		// for the floor alone.
		{"started on a full disk", 0, []step{
			{free: 0, used: 80, want: true, need: floor},
			{free: 0, used: 80, stopped: true, want: true, need: floor},
			{free: 47, used: 80, stopped: true, want: true, need: floor},
			{free: 48, used: 80, stopped: true, want: false},
		}},
		// Tables of 390, of which 290 given back: 48 + 290 is more than
		// the 300 the disk can have free beside the 100 left.
		{"never more than the disk can have", 0, []step{
			{free: 5, used: 390, want: true, need: floor},
			{free: 295, used: 100, stopped: true, want: true, need: size - 100},
			{free: 300, used: 100, stopped: true, want: false},
		}},
		// An operator's -min-free above the disk's size is theirs to
		// change; the reserve adds nothing to it.
		{"a floor above the disk", 2 * size, []step{
			{free: 5, used: 380, want: true, need: 2 * size},
			{free: 390, used: 10, stopped: true, want: true, need: 2 * size},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := disk.Floor{Min: floor}
			if c.min != 0 {
				f.Min = c.min
			}
			for i, s := range c.steps {
				got := f.Update(disk.Space{Free: s.free, Size: size, Used: s.used}, s.stopped)
				if got != s.want || got && f.Need() != s.need {
					t.Errorf("step %d (free %d, used %d, stopped %v): full %v, need %d; want %v, %d",
						i, s.free, s.used, s.stopped, got, f.Need(), s.want, s.need)
				}
			}
		})
	}
}

// TestFloorZeroNeverStops: -min-free 0 turns the floor off.
func TestFloorZeroNeverStops(t *testing.T) {
	var f disk.Floor
	if f.Update(disk.Space{Free: 0, Size: 400, Used: 400}, false) {
		t.Fatal("a floor of 0 stopped the writer")
	}
}
