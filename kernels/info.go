package kernels

import (
	"runtime"

	"github.com/klauspost/cpuid/v2"
)

// CPUInfo describes the machine as the kernels see it: the path they
// take, the threads they use and the cache sizes their blocking comes
// from.
type CPUInfo struct {
	// ISA is the path every kernel takes; Supported lists those this CPU
	// and build can run, the portable one first.
	ISA       ISA
	Supported []ISA
	// Threads is the number of threads a kernel may use (SetThreads).
	Threads int
	// Brand is the CPU's name as cpuid reports it, or "" where it
	// reports none.
	Brand string
	// CPUs is the number of logical CPUs the process may run on
	// (runtime.NumCPU). cpuid's count of physical cores is left out: on
	// virtual machines it is what the hypervisor invents.
	CPUs int
	// L2 is the per-core cache size in bytes that the SGEMM blocking's MC
	// is derived from; L2Assumed is set where cpuid reported no size and
	// Zen 4's stands in. MC does not change results; KC, which does, is
	// the same on every machine.
	L2        int
	L2Assumed bool
	// Blocking is the SGEMM blocking that follows for ISA.
	Blocking Blocking
}

// Info returns the kernels' view of this machine.
func Info() CPUInfo {
	return CPUInfo{
		ISA:       Current(),
		Supported: Supported(),
		Threads:   Threads(),
		Brand:     cpuid.CPU.BrandName,
		CPUs:      runtime.NumCPU(),
		L2:        l2Size(),
		L2Assumed: cpuid.CPU.Cache.L2 <= 0,
		Blocking:  SgemmBlocking(),
	}
}
