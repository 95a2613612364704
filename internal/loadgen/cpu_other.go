//go:build !unix

package loadgen

import "time"

func cpuTime() time.Duration { return 0 }

func loadAverage() string { return "" }
