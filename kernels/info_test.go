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
			if l2 := l2Size(); info.L2 != l2 || l2 <= 0 {
				t.Errorf("L2 %d; the blocking's %d", info.L2, l2)
			}
			if info.Blocking != SgemmBlocking() {
				t.Errorf("Blocking %+v, want %+v", info.Blocking, SgemmBlocking())
			}
		}
	})
}
