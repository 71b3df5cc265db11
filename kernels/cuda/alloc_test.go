package cuda

import (
	"fmt"
	"strings"
	"testing"
)

// fakeMemory is a driver's memory of a fixed capacity that counts calls.
type fakeMemory struct {
	capacity, used int64
	next           DevicePtr
	live           map[DevicePtr]int64
}

func (f *fakeMemory) memAlloc(n int64) (DevicePtr, error) {
	if f.used+n > f.capacity {
		return 0, &Error{Func: "cuMemAlloc_v2", Code: int(cudaOutOfMemory)}
	}
	f.used += n
	f.next += 1 << 30
	f.live[f.next] = n
	return f.next, nil
}

func (f *fakeMemory) memFree(p DevicePtr) error {
	n, ok := f.live[p]
	if !ok {
		return fmt.Errorf("fake: free of %#x", uint64(p))
	}
	f.used -= n
	delete(f.live, p)
	return nil
}

func TestSizeClass(t *testing.T) {
	for _, c := range []struct{ n, want int64 }{
		{1, 512}, {512, 512}, {513, 1024}, {1000, 1024}, {1 << 20, 1 << 20},
		{1<<20 + 1, 2 << 20}, {2 << 20, 2 << 20}, {2<<20 + 1, 4 << 20}, {5 << 20, 6 << 20},
	} {
		if got := sizeClass(c.n); got != c.want {
			t.Errorf("sizeClass(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestAllocator(t *testing.T) {
	mem := &fakeMemory{capacity: 8 << 20, live: map[DevicePtr]int64{}}
	a := newAllocator(mem)
	alloc := func(n int64) DevicePtr {
		t.Helper()
		p, err := a.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	free := func(p DevicePtr) {
		t.Helper()
		if err := a.Free(p); err != nil {
			t.Fatal(err)
		}
	}
	p1 := alloc(1000)    // 1 KiB class
	p2 := alloc(3 << 20) // 4 MiB
	free(p1)
	if p := alloc(600); p != p1 {
		t.Errorf("a 600-byte request after freeing a 1000-byte block got %#x, want the cached %#x", p, p1)
	}
	free(p1)
	free(p2)
	// 6 MiB does not fit beside the cached 4 MiB block of a full 8 MiB
	// device: the cache is flushed and the allocation retried.
	p3 := alloc(5 << 20)
	want := AllocStats{Allocs: 4, Hits: 1, DriverAllocs: 3, DriverFrees: 2, Flushes: 1,
		InUse: 6 << 20, Cached: 0, PeakInUse: 6 << 20}
	if got := a.Stats(); got != want {
		t.Errorf("stats\n got %+v\nwant %+v", got, want)
	}
	if _, err := a.Alloc(3 << 20); err == nil || !strings.Contains(err.Error(), "6291456 in use") {
		t.Errorf("allocating past the device's memory: %v", err)
	}
	free(p3)
	if err := a.Free(p3); err == nil {
		t.Error("a second Free of the same block succeeded")
	}
	if err := a.Free(12345); err == nil {
		t.Error("Free of a pointer never allocated succeeded")
	}
	if _, err := a.Alloc(0); err == nil {
		t.Error("Alloc(0) succeeded")
	}
	if err := a.EmptyCache(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Cached != 0 || s.InUse != 0 || mem.used != 0 || len(mem.live) != 0 {
		t.Errorf("after EmptyCache: %+v, %d bytes held by the driver", s, mem.used)
	}
}
