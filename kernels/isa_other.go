//go:build !(amd64 || arm64) || purego

package kernels

func cpuHasAVX2() bool   { return false }
func cpuHasAVX512() bool { return false }
func cpuHasNEON() bool   { return false }
