// Package kernels provides the numeric kernels that the rest of vlpuda runs on:
// single-precision GEMM (Sgemm, with pre-packed weights), the elementwise work of
// training (exp, softmax rows, layer norm, GELU/QuickGELU, axpy, sums) and a
// persistent worker pool.
//
// Every kernel works on plain []float32 slices in row-major order. The package
// knows nothing about tensors, shapes or autograd; package tensor builds on it.
//
// # Instruction sets
//
// Each hot loop has a pure-Go implementation that is always compiled and an
// avo-generated assembly implementation for AVX-512 and for AVX2+FMA on amd64.
// The best one the CPU supports is picked once at start-up with
// github.com/klauspost/cpuid/v2. The environment variable VLPUDA_ISA
// (avx512, avx2 or generic) forces a path, so every path can be tested on one
// machine; the build tag purego removes the assembly altogether.
//
// # Threads
//
// Kernels that are worth splitting run on a persistent pool of worker
// goroutines. SetThreads fixes the number of workers; results are
// bit-identical for a fixed thread count.
package kernels
