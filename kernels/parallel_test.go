package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelForChunks checks that the chunks tile [0, n) exactly once.
func TestParallelForChunks(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {100, 30}, {1000, 1}} {
			t.Run(fmt.Sprintf("T%d/n%d/grain%d", threads, tc.n, tc.grain), func(t *testing.T) {
				seen := make([]int32, tc.n)
				var chunks atomic.Int32
				withThreads(threads, func() {
					ParallelFor(tc.n, tc.grain, func(lo, hi int) {
						chunks.Add(1)
						for i := lo; i < hi; i++ {
							atomic.AddInt32(&seen[i], 1)
						}
					})
				})
				for i, v := range seen {
					if v != 1 {
						t.Fatalf("index %d visited %d times, want 1", i, v)
					}
				}
				if want := min(threads, (tc.n+tc.grain-1)/tc.grain); tc.n > 0 && int(chunks.Load()) != want {
					t.Errorf("chunks: got %d, want %d", chunks.Load(), want)
				}
			})
		}
	}
}

// TestParallelForNested checks that ParallelFor called from inside a chunk,
// and from several goroutines at once, finishes with every index visited
// once, using the same chunk boundaries as an unnested call.
func TestParallelForNested(t *testing.T) {
	withThreads(2, func() {
		var bounds [][2]int
		ParallelFor(10, 1, func(lo, hi int) {}) // start the pool
		var mu sync.Mutex
		ParallelFor(10, 1, func(lo, hi int) {
			mu.Lock()
			bounds = append(bounds, [2]int{lo, hi})
			mu.Unlock()
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var total atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ParallelFor(8, 1, func(lo, hi int) {
						var inner [][2]int
						var imu sync.Mutex
						ParallelFor(10, 1, func(a, b int) {
							imu.Lock()
							inner = append(inner, [2]int{a, b})
							imu.Unlock()
							total.Add(int64(b - a))
						})
						if len(inner) != len(bounds) {
							t.Errorf("nested call ran %d chunks, want %d", len(inner), len(bounds))
						}
					})
				}()
			}
			wg.Wait()
			if got, want := total.Load(), int64(4*2*10); got != want {
				t.Errorf("nested calls covered %d indices, want %d", got, want)
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("nested ParallelFor deadlocked")
		}
	})
}

// TestFreeThreads checks that a ParallelFor's chunks see one free thread,
// so that a product computed inside one is not split into parts that would
// run one after another, and that the pool is free again afterwards.
func TestFreeThreads(t *testing.T) {
	withThreads(3, func() {
		if got := freeThreads(); got != 3 {
			t.Errorf("freeThreads() = %d outside a ParallelFor, want 3", got)
		}
		var inside atomic.Int32
		ParallelFor(3, 1, func(lo, hi int) { inside.Store(int32(freeThreads())) })
		if got := inside.Load(); got != 1 {
			t.Errorf("freeThreads() = %d inside a chunk, want 1", got)
		}
		if got := freeThreads(); got != 3 {
			t.Errorf("freeThreads() = %d after the ParallelFor, want 3", got)
		}
	})
	withThreads(1, func() {
		if got := freeThreads(); got != 1 {
			t.Errorf("freeThreads() = %d on one thread, want 1", got)
		}
	})
}

// TestParallelForPanic checks that a panic in a chunk run by a worker
// reaches the caller and leaves the pool usable.
func TestParallelForPanic(t *testing.T) {
	withThreads(2, func() {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want boom", r)
				}
			}()
			ParallelFor(2, 1, func(lo, hi int) {
				if lo == 1 {
					panic("boom")
				}
			})
		}()
		var n atomic.Int32
		ParallelFor(2, 1, func(lo, hi int) { n.Add(int32(hi - lo)) })
		if n.Load() != 2 {
			t.Errorf("after a panic: covered %d, want 2", n.Load())
		}
	})
}

// BenchmarkParallelFor times a fork and join of the worker pool on chunks
// of a few microseconds of work, with pauses between calls like those of a
// network's small layers.
func BenchmarkParallelFor(b *testing.B) {
	x := make([]float32, 1<<14)
	for _, pause := range []int{0, 2000} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("pause%d/threads%d", pause, threads), func(b *testing.B) {
				withThreads(threads, func() {
					for b.Loop() {
						ParallelFor(2, 1, func(lo, hi int) {
							for i := lo * len(x) / 2; i < hi*len(x)/2; i++ {
								x[i] += 1
							}
						})
						spin := float32(0)
						for i := 0; i < pause; i++ {
							spin += x[i]
						}
						x[0] = spin
					}
				})
			})
		}
	}
}
