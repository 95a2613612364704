package disk

// Floor decides, from the space measured under a writer's directory, when
// the writer stops for a full disk and when it starts again: it stops when
// less than Min is free, and starts again once Min is free plus what
// stopping gave back.
//
// Stopping the processors closes their local tables, which gives back the
// space RocksDB had allocated ahead for its logs (six partitions gave back
// 77 MiB in run/disk_test.go), and starting takes it again: resuming as
// soon as Min is free would stop and start them every few seconds. So what
// the stop gave back is held in reserve. It is measured as how much less
// the files under the directory take once the writer has stopped, not as
// a difference of free space, which any process changes: an operator who
// freed space while the writer stopped had that space counted in the
// reserve, and the writer waited for more free space than the disk has
// (issue 19).
//
// The reserve never makes the space waited for more than the disk can have
// free: its size less what the stopped writer's files take.
type Floor struct {
	// Min is the free space below which the writer stops. 0 never stops.
	Min uint64

	full bool
	// atStop is the space measured when the writer was told to stop;
	// reserve what stopping gave back, measured is set once it has been.
	atStop   Space
	reserve  uint64
	measured bool
}

// Update takes the space measured and whether the writer has stopped, and
// returns whether it must stop, or stay stopped.
func (f *Floor) Update(s Space, stopped bool) bool {
	switch {
	case !f.full:
		if s.Free < f.Min {
			f.full, f.atStop, f.reserve, f.measured = true, s, 0, false
		}
		return f.full
	case !f.measured:
		if !stopped {
			return true
		}
		f.measured = true
		if f.atStop.Used > s.Used {
			f.reserve = f.atStop.Used - s.Used
		}
		if most := s.Size - min(s.Used, s.Size); f.Min+f.reserve > most {
			f.reserve = most - min(f.Min, most)
		}
	}
	if s.Free >= f.Need() {
		f.full = false
	}
	return f.full
}

// Need returns the free space at which a stopped writer starts again: Min,
// plus what stopping gave back once that is measured.
func (f *Floor) Need() uint64 { return f.Min + f.reserve }

// FreeAtStop returns the free space measured when the writer was last told
// to stop.
func (f *Floor) FreeAtStop() uint64 { return f.atStop.Free }
