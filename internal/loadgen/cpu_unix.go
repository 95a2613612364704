//go:build unix

package loadgen

import (
	"os"
	"strings"
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) this process has used; with
// -embedded that includes the whole wallet.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or ""
// where there is none: a busy machine explains slow figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
