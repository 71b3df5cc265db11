//go:build !(amd64 || arm64) || purego

package kernels

// asmKernel returns nil: this build has no assembly kernels.
func asmKernel(ISA) *sgemmKernel { return nil }

// fmaPeak returns 0: this build has no FMA loop to measure with.
func fmaPeak(ISA, int) float64 { return 0 }
