package gcpace

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		pct        int
		live, peak uint64
		want       int
	}{
		{10, 2000 * mib, 2000 * mib, 10}, // at a large peak: pct itself
		{10, 2000 * mib, 1000 * mib, 10}, // above the window's peak
		{10, 100 * mib, 100 * mib, 64},   // at a small peak: MinHeadroom
		{10, 100 * mib, 50 * mib, 64},
		{10, 0, 100 * mib, 10},           // nothing live yet
		{10, 100 * mib, 200 * mib, 164},  // goal 264 MiB
		{25, 400 * mib, 1000 * mib, 213}, // goal 1250 MiB: ceil(312.5) - 100
		{10, 1 * mib, 2000 * mib, 1000},  // capped
	}
	for _, tt := range tests {
		if got := Percent(tt.pct, tt.live, tt.peak); got != tt.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", tt.pct, tt.live, tt.peak, got, tt.want)
		}
	}
}

// gcPercent reads the current GOGC value.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestStart checks that after the live heap falls from a peak, the
// collector is given a goal above that peak rather than GOGC=pct.
func TestStart(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	Start(10)
	if got := gcPercent(); got != 10 {
		t.Fatalf("after Start(10), GOGC = %d, want 10", got)
	}
	peak := make([]float32, 64<<20) // 256 MiB live
	peak[len(peak)-1] = 1
	runtime.GC()
	runtime.KeepAlive(peak)
	peak = nil
	// The cleanup that sets the next percentage runs on its own goroutine
	// after a collection; wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after the live heap fell from 256 MiB, want well above 100", gcPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	Start(25) // a second call changes the percentage
	mu.Lock()
	got := percent
	mu.Unlock()
	if got != 25 {
		t.Errorf("after Start(25), the percentage is %d, want 25", got)
	}
}

func TestStartPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Start(0) did not panic")
		}
	}()
	Start(0)
}
