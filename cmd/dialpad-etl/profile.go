package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// profile writes a CPU profile to $DIALPAD_ETL_CPUPROFILE and a heap
// profile to $DIALPAD_ETL_MEMPROFILE (taken when the heap was largest)
// when they are set: for benchmarking (make bench; docs/configuration.md). It
// returns what stops them.
func profile() (stop func()) {
	var stops []func()
	if path := os.Getenv("DIALPAD_ETL_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("DIALPAD_ETL_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		done := make(chan struct{})
		go peakHeap(path, done)
		stops = append(stops, func() { close(done) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// peakHeap writes a heap profile to path whenever the heap in use is
// larger than at the last write, until done.
func peakHeap(path string, done <-chan struct{}) {
	var peak uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak+peak/10 {
			peak = m.HeapInuse
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
	}
}
