package kernels

import (
	"runtime"
	"sync"
	"time"
)

// PeakGFLOPS measures the FP32 FMA throughput the current ISA reaches on
// this machine, in GFLOP/s summed over threads goroutines (each on its own
// OS thread) that run a register-only loop of independent FMAs for about d.
// It is the ceiling against which GEMM efficiency is read. The Generic ISA
// has no such loop and reports 0.
func PeakGFLOPS(threads int, d time.Duration) float64 {
	isa := current
	if isa == Generic || threads < 1 {
		return 0
	}
	const chunk = 1 << 16 // iterations per call: ~0.1–0.2 ms
	rates := make([]float64, threads)
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(threads)
	for t := range threads {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start.Wait()
			fmaPeak(isa, chunk) // warm up the clock
			var flop float64
			t0 := time.Now()
			for time.Since(t0) < d {
				flop += fmaPeak(isa, chunk)
			}
			rates[t] = flop / time.Since(t0).Seconds() / 1e9
		}()
	}
	start.Done()
	done.Wait()
	var sum float64
	for _, r := range rates {
		sum += r
	}
	return sum
}
