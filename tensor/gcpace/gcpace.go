// Package gcpace paces Go's garbage collector for programs whose live heap
// rises and falls every iteration, as a training step's does: the
// activations kept for the backward pass are live at the end of the forward
// pass and garbage after it.
//
// With a low GOGC such a program's heap goal follows the live heap down
// after every backward pass, the runtime returns the freed pages to the
// operating system, and the next forward pass faults them back in: a
// ViT-B/16 training step at batch 8 and GOGC=10 took 110,000 page faults
// and 0.7 s of kernel time per step. A high GOGC avoids that but lets the
// heap grow to twice its peak. Start sets, after every collection, a goal a
// given percentage (and at least MinHeadroom) above the largest live heap of
// the last few collections, so the pages of the peak stay mapped from one
// iteration to the next while the heap never grows far past it.
package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Window is the number of collections over which the peak live heap is
// taken. A training step runs a few collections; a program whose work
// shrinks for good (training ends, evaluation starts) gets its smaller goal
// back after this many.
const Window = 8

// MinHeadroom is the least room, in bytes, that the heap goal leaves above
// the recent peak: small heaps would otherwise be collected every few
// milliseconds (a 90 MB heap at 10 % every 9 MB of allocation).
const MinHeadroom = 64 << 20

// maxPercent bounds the GOGC value Start sets when the live heap is far
// below the recent peak.
const maxPercent = 1000

var (
	mu      sync.Mutex
	percent int            // 0 until Start
	peaks   [Window]uint64 // live heap after each of the last collections
	next    int
)

// Start makes every garbage collection set the next heap goal to
// (1 + percent/100) times the largest live heap of the last Window
// collections (the current one included), and at least MinHeadroom above
// it, instead of GOGC times the current live heap alone. It replaces the GOGC setting; a later call changes the
// percentage. It panics if percent is not positive.
func Start(pct int) {
	if pct <= 0 {
		panic("gcpace: Start: percent must be positive")
	}
	mu.Lock()
	defer mu.Unlock()
	first := percent == 0
	percent = pct
	debug.SetGCPercent(pct)
	if first {
		arm()
	}
}

// sentinel is allocated once per cycle; its cleanup runs after the
// collection that finds it unreachable.
type sentinel struct{ _ [16]byte }

func arm() {
	runtime.AddCleanup(new(sentinel), func(struct{}) { collected() }, struct{}{})
}

// collected runs after each collection: it records the live heap, sets the
// percentage for the next goal and arms the next cycle's sentinel.
func collected() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	var live uint64
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = sample[0].Value.Uint64()
	}
	mu.Lock()
	defer mu.Unlock()
	peaks[next] = live
	next = (next + 1) % Window
	peak := uint64(0)
	for _, p := range peaks {
		peak = max(peak, p)
	}
	debug.SetGCPercent(Percent(percent, live, peak))
	arm()
}

// Percent returns the GOGC value that puts the heap goal of a heap with
// live bytes at the larger of (1 + pct/100)·peak and peak + MinHeadroom,
// peak being at least live, and at most 1000.
func Percent(pct int, live, peak uint64) int {
	if live == 0 {
		return pct
	}
	peak = max(peak, live)
	goal := max(peak*uint64(100+pct)/100, peak+MinHeadroom)
	// ceil(100·goal/live) − 100
	return max(pct, int(min((100*goal+live-1)/live-100, maxPercent)))
}
