//go:build arm64 && !purego

package kernels

func cpuHasAVX2() bool   { return false }
func cpuHasAVX512() bool { return false }

// cpuHasNEON reports true: ASIMD is part of ARMv8-A, and Go's arm64 port
// requires it.
func cpuHasNEON() bool { return true }
