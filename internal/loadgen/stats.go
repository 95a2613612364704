package loadgen

import (
	"slices"
	"time"
)

// latency summarises a set of durations, in milliseconds for the report.
type latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// summarise sorts ns in place and returns its percentiles (nearest rank).
func summarise(ns []int64) latency {
	if len(ns) == 0 {
		return latency{}
	}
	slices.Sort(ns)
	return latency{
		Count: len(ns),
		P50:   ms(percentile(ns, 50)),
		P90:   ms(percentile(ns, 90)),
		P99:   ms(percentile(ns, 99)),
		Max:   ms(ns[len(ns)-1]),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted values.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func ms(ns int64) float64 { return float64(ns) / float64(time.Millisecond) }

// perSecond returns n over d.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
