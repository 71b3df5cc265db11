package kernels

import (
	"runtime"
	"slices"
	"testing"
)

func TestInfo(t *testing.T) {
	prev := Threads()
	defer SetThreads(prev)
	forEachISA(t, func(t *testing.T) {
		for _, threads := range []int{1, 3} {
			SetThreads(threads)
			info := Info()
			if info.ISA != Current() || !slices.Equal(info.Supported, Supported()) {
				t.Errorf("ISA %v of %v, want %v of %v", info.ISA, info.Supported, Current(), Supported())
			}
			if info.Threads != threads {
				t.Errorf("Threads %d, want %d", info.Threads, threads)
			}
			if info.CPUs != runtime.NumCPU() {
				t.Errorf("CPUs %d, want runtime.NumCPU %d", info.CPUs, runtime.NumCPU())
			}
			if l1, l3 := cacheSizes(); info.L1D != l1 || info.L3 != l3 || l1 <= 0 || l3 <= 0 {
				t.Errorf("caches L1d %d, L3 %d; the blocking's %d, %d", info.L1D, info.L3, l1, l3)
			}
			if info.Blocking != SgemmBlocking() {
				t.Errorf("Blocking %+v, want %+v", info.Blocking, SgemmBlocking())
			}
		}
	})
}
