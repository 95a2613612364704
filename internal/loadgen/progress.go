package loadgen

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	phaseSend = iota
	phaseDrain
)

// progress is the bar on stderr: counters the senders bump, drawn five
// times a second by one goroutine when enabled.
type progress struct {
	done   atomic.Int64 // transfers sent, or accounts verified
	errors atomic.Int64 // error answers
	phase  atomic.Int32
	total  atomic.Int64

	out  io.Writer     // nil: disabled
	stop chan struct{} // nil while not drawing
	wg   sync.WaitGroup
}

// newProgress returns a progress bar drawn on stderr if it is a terminal
// and quiet is false; otherwise the counters only.
func newProgress(quiet bool, total int) *progress {
	p := &progress{}
	p.total.Store(int64(total))
	if !quiet && isTerminal(os.Stderr) {
		p.out = os.Stderr
	}
	return p
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) startPhase(phase int32, total int64) {
	p.phase.Store(phase)
	p.total.Store(total)
	p.done.Store(0)
}

// start draws until finish; it may be started again after finish.
func (p *progress) start() {
	if p.out == nil || p.stop != nil {
		return
	}
	stop := make(chan struct{})
	p.stop = stop
	p.wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		// The rate is over the last second: five samples of five a second.
		var hist [5]int64
		for k := 0; ; k++ {
			select {
			case <-stop:
				fmt.Fprint(p.out, "\r\033[K")
				return
			case <-tick.C:
			}
			done := p.done.Load()
			var rate int64
			if k < len(hist) { // less than a second in: the average so far
				rate = done * int64(time.Second) / max(int64(time.Since(begin)), 1)
			} else { // the sample of five ticks ago is still in its slot
				rate = done - hist[k%len(hist)]
			}
			hist[k%len(hist)] = done
			fmt.Fprint(p.out, "\r\033[K"+p.line(done, rate))
		}
	})
}

func (p *progress) line(done, rate int64) string {
	total := max(p.total.Load(), 1)
	const width = 30
	filled := int(min(done*width/total, width))
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	if p.phase.Load() == phaseDrain {
		return fmt.Sprintf("verifying [%s] %d/%d accounts right", bar, done, total)
	}
	return fmt.Sprintf("sending   [%s] %d/%d  %d/s  errors %d", bar, done, total, rate, p.errors.Load())
}

// finish stops drawing and clears the line. The senders' counters go on.
func (p *progress) finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
}
