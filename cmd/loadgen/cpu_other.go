//go:build !unix

package main

import "time"

func cpuTime() time.Duration { return 0 }

func loadAverage() string { return "" }
