package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/wallet/wallet/internal/harness"
)

// process is one supervised child: started with fixed arguments, output
// appended to its log file, and restarted whenever it exits until the
// supervisor's context ends. A kill by the harness restarts it after the
// configured delay (or when released, if held); an exit on its own is
// counted and restarted after a short, growing backoff.
type process struct {
	name         string
	path         string
	args         []string
	logPath      string
	restartAfter time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd     // the current child; nil while none runs
	started time.Time     // when the current child started
	killed  bool          // the current child was killed by the harness
	paused  bool          // the current child is stopped (SIGSTOP)
	hold    chan struct{} // if set, a killed child is restarted once it is closed
	starts  int
	exits   int // exits on its own
	kills   int
	pauses  int
}

func newProcess(name, path, logPath string, restartAfter time.Duration, args ...string) *process {
	return &process{name: name, path: path, args: args, logPath: logPath, restartAfter: restartAfter}
}

// supervise runs the process until ctx is done, then stops the child
// (SIGTERM, SIGKILL after 3 s) and returns once it has been reaped.
func (p *process) supervise(ctx context.Context) {
	const minBackoff, maxBackoff = 200 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		cmd, err := p.start(ctx)
		if err != nil {
			slog.Error("start failed", "process", p.name, "error", err)
			harness.Sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		werr := cmd.Wait()
		p.mu.Lock()
		killed, hold, uptime := p.killed, p.hold, time.Since(p.started)
		p.cmd, p.killed, p.paused = nil, false, false
		if !killed && ctx.Err() == nil {
			p.exits++
		}
		p.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if killed {
			slog.Debug("killed", "process", p.name, "uptime", uptime.Round(time.Millisecond))
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return
				}
			}
			harness.Sleep(ctx, p.restartAfter)
			backoff = minBackoff
			continue
		}
		if uptime > 30*time.Second {
			backoff = minBackoff
		}
		slog.Warn("exited on its own; restarting", "process", p.name, "status", exitStatus(werr),
			"uptime", uptime.Round(time.Millisecond), "backoff", backoff, "log", p.logPath)
		harness.Sleep(ctx, backoff)
		backoff = min(2*backoff, maxBackoff)
	}
}

// start starts a child with its output appended to the log file.
func (p *process) start(ctx context.Context) (*exec.Cmd, error) {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", p.name, err)
	}
	defer log.Close() // the child has its own descriptor
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(log, "=== chaos: start #%d of %s at %s: %s %v\n",
		p.starts+1, p.name, time.Now().Format(time.RFC3339Nano), p.path, p.args)
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.started = cmd, time.Now()
	p.starts++
	slog.Debug("started", "process", p.name, "pid", cmd.Process.Pid)
	return cmd, nil
}

// kill sends SIGKILL to the running child, which is restarted after the
// restart delay; with hold, only after release is called. It reports
// whether a child was running. The child is not reaped before the
// supervisor's Wait returns, so the signal cannot reach a recycled pid.
func (p *process) kill(hold bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.killed {
		return false, nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return false, fmt.Errorf("kill -9 %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	p.killed = true
	p.kills++
	p.hold = nil
	if hold {
		p.hold = make(chan struct{})
	}
	return true, nil
}

// pause stops the running child with SIGSTOP and resumes it with SIGCONT
// after d: a process paused past its session, whose partitions the
// others take over meanwhile, comes back a zombie that the new owners must
// have fenced. It reports whether a child was running (and not paused).
func (p *process) pause(d time.Duration) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.killed || p.paused {
		return false, nil
	}
	cmd := p.cmd
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return false, fmt.Errorf("kill -STOP %s (pid %d): %w", p.name, cmd.Process.Pid, err)
	}
	p.paused = true
	p.pauses++
	time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		// Not if the child was reaped meanwhile: its pid may be another
		// process's.
		if p.cmd != cmd {
			return
		}
		if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
			slog.Error("kill -CONT", "process", p.name, "error", err)
		}
		slog.Info("kill -CONT", "process", p.name)
		p.paused = false
	})
	return true, nil
}

// release lets a child killed with hold restart.
func (p *process) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold != nil {
		close(p.hold)
		p.hold = nil
	}
}

// running reports whether a child runs and was not killed or paused.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.killed && !p.paused
}

// waitUp waits until a child runs, or ctx is done.
func (p *process) waitUp(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !p.running() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%s is not running: %w", p.name, context.Cause(ctx))
		}
	}
	return nil
}

// counts returns how often the child started, exited on its own, and was
// killed.
func (p *process) counts() (starts, exits, kills int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.exits, p.kills
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit 0"
	case errors.As(err, &ee):
		return ee.ProcessState.String()
	default:
		return err.Error()
	}
}
