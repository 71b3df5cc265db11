package cuda

import (
	"fmt"
	"math/bits"
	"sync"
)

// memory is what an allocator needs from the driver.
type memory interface {
	memAlloc(bytes int64) (DevicePtr, error)
	memFree(p DevicePtr) error
}

// Size classes: powers of two from minBlock up to largeBlock, then
// multiples of largeBlock. A request takes the smallest class that holds
// it, so a block freed by one tensor serves the next of about its size.
const (
	minBlock   = 512
	largeBlock = 2 << 20
)

// sizeClass returns the size of the blocks that serve a request of n bytes.
func sizeClass(n int64) int64 {
	if n <= minBlock {
		return minBlock
	}
	if n <= largeBlock {
		return 1 << bits.Len64(uint64(n-1))
	}
	return (n + largeBlock - 1) / largeBlock * largeBlock
}

// AllocStats counts what a device's caching allocator has done.
type AllocStats struct {
	Allocs       int64 // calls of Alloc that succeeded
	Hits         int64 // of them, served from the cache
	DriverAllocs int64 // calls of cuMemAlloc that succeeded
	DriverFrees  int64 // calls of cuMemFree
	Flushes      int64 // times the cache was emptied to retry an allocation
	InUse        int64 // bytes of the blocks handed out and not freed (by class)
	Cached       int64 // bytes of the blocks freed and kept for reuse
	PeakInUse    int64 // the most InUse has been
}

// allocator is a caching allocator over cuMemAlloc. Free keeps a block in
// a free list of its size class; Alloc takes one from there before it asks
// the driver, and when the driver is out of memory it gives every cached
// block back and tries once more. It is safe for concurrent use.
type allocator struct {
	mem   memory
	mu    sync.Mutex
	free  map[int64][]DevicePtr // cached blocks by size class
	live  map[DevicePtr]int64   // size class of each block handed out
	stats AllocStats
}

// newAllocator returns an empty allocator over mem.
func newAllocator(mem memory) *allocator {
	return &allocator{mem: mem, free: map[int64][]DevicePtr{}, live: map[DevicePtr]int64{}}
}

// Alloc returns a block of at least n bytes, n > 0.
func (a *allocator) Alloc(n int64) (DevicePtr, error) {
	if n <= 0 {
		return 0, fmt.Errorf("cuda: allocate %d bytes: size must be positive", n)
	}
	c := sizeClass(n)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, hit := a.pop(c)
	if !hit {
		var err error
		p, err = a.mem.memAlloc(c)
		if err != nil && isOutOfMemory(err) && a.stats.Cached > 0 {
			a.stats.Flushes++
			if ferr := a.flush(); ferr != nil {
				return 0, fmt.Errorf("cuda: allocate %d bytes: %w", n, ferr)
			}
			p, err = a.mem.memAlloc(c)
		}
		if err != nil {
			return 0, fmt.Errorf("cuda: allocate %d bytes (%d in use, %d cached): %w", n, a.stats.InUse, a.stats.Cached, err)
		}
		a.stats.DriverAllocs++
	} else {
		a.stats.Hits++
	}
	a.live[p] = c
	a.stats.Allocs++
	a.stats.InUse += c
	a.stats.PeakInUse = max(a.stats.PeakInUse, a.stats.InUse)
	return p, nil
}

// pop takes a cached block of class c, if there is one.
func (a *allocator) pop(c int64) (DevicePtr, bool) {
	l := a.free[c]
	if len(l) == 0 {
		return 0, false
	}
	p := l[len(l)-1]
	a.free[c] = l[:len(l)-1]
	a.stats.Cached -= c
	return p, true
}

// Free returns the block at p, which Alloc returned, to the cache.
func (a *allocator) Free(p DevicePtr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.live[p]
	if !ok {
		return fmt.Errorf("cuda: free %#x: not a block of this allocator, or freed twice", uint64(p))
	}
	delete(a.live, p)
	a.free[c] = append(a.free[c], p)
	a.stats.InUse -= c
	a.stats.Cached += c
	return nil
}

// reclaim moves every block handed out to the cache, as if each were
// freed: Device.Close frees them all.
func (a *allocator) reclaim() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, c := range a.live {
		a.free[c] = append(a.free[c], p)
		a.stats.InUse -= c
		a.stats.Cached += c
	}
	clear(a.live)
}

// EmptyCache gives every cached block back to the driver.
func (a *allocator) EmptyCache() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flush()
}

// flush frees every cached block; a.mu is held. It stops at the first
// error, keeping the blocks it has not freed.
func (a *allocator) flush() error {
	for c, l := range a.free {
		for len(l) > 0 {
			if err := a.mem.memFree(l[len(l)-1]); err != nil {
				a.free[c] = l
				return err
			}
			l = l[:len(l)-1]
			a.stats.DriverFrees++
			a.stats.Cached -= c
		}
		delete(a.free, c)
	}
	return nil
}

// Stats returns the allocator's counters.
func (a *allocator) Stats() AllocStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}
