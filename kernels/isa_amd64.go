//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

func cpuHasAVX2() bool {
	return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C)
}

func cpuHasAVX512() bool {
	return cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX512DQ)
}

func cpuHasNEON() bool { return false }
