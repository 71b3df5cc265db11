// Package kernels provides the numeric kernels that the rest of vlpuda runs on.
// Every kernel works on plain []float32 slices in row-major order; the
// package knows nothing about tensors, shapes or autograd (package tensor
// builds on it). Package kernels/cuda (-tags cuda) implements SGEMM and the
// elementwise, softmax, layer-norm and SGD kernels on float32 arrays in GPU
// memory against this same narrow surface; nothing above this package uses
// it yet, since package tensor has no device storage.
//
//	sgemm.go           Sgemm, PackB/SgemmPacked (weights packed once)
//	sgemm_epilogue.go  SgemmEpilogue: bias and activation fused into the store of C
//	sgemm_block.go     the blocked driver; Blocking (KC fixed, MC from the L2 size)
//	sgemm_peak.go      PeakGFLOPS, the core's FMA rate measured by a register-only loop
//	eltwise.go         Axpy, Scale, Add, Sub, Mul, Affine, Sum, Dot, Exp, ReLU,
//	                   Sigmoid, Tanh, GELU, QuickGELU (+ backward), AddBias,
//	                   AddColumnSums, SoftmaxRows, LogSoftmaxRows, LayerNormRows (+ backward),
//	                   SGDMomentum, BatchNormBackwardDx
//	conv.go            Conv2d and its data and filter gradients (im2col + Sgemm), NCHW;
//	                   conv_implicit.go packs the forward GEMM's operand straight from x
//	pool.go            max, average and adaptive average pooling, NCHW
//	parallel.go        the persistent worker pool: SetThreads, Threads, ParallelFor
//
// # Instruction sets
//
// Each hot loop has a pure-Go implementation that is always compiled and an
// avo-generated assembly implementation for AVX-512 (SGEMM 12×32 with
// opmask tails) and for AVX2+FMA (SGEMM 6×16). On arm64 the NEON path has
// SGEMM micro-kernels in ASIMD assembly (12×8; a partial width goes
// through a full tile on the stack) and the pure-Go elementwise kernels;
// avo emits only amd64, so their generator, kernels/_asm/neon, writes Go's
// arm64 assembly through a small typed emitter of its own. The generators
// live in kernels/_asm (their own module); `make generate` rebuilds the .s
// files and CI fails when the committed ones are stale. The best path the
// CPU supports is picked once at start-up, with
// github.com/klauspost/cpuid/v2 on amd64; arm64 always has NEON. The
// environment variable VLPUDA_ISA (avx512, avx2, neon or generic) or Use
// forces a path, so every path can be tested on one machine; the build tag
// purego removes the assembly altogether. The AVX-512 kernels (GEMM and
// elementwise) are also run by a small x86 simulator in the tests, so they
// are checked on machines without AVX-512; the NEON kernels are tested
// under qemu-aarch64 (make test-qemu).
//
// # Threads
//
// Kernels that are worth splitting run on a persistent pool of worker
// goroutines. SetThreads fixes the number of workers. No kernel splits a
// reduction in a way that depends on the threads or the timing.
//
// # Same bits everywhere
//
// Every kernel gives the same bits on every ISA, thread count and
// platform. SGEMM blocks k by a fixed KC and computes each element of C
// as one chain of fused multiply-adds per block on every path (FMLA on
// arm64, whose rounding is fma32's); every sum
// over a vector adds element i to partial sum i%16 and combines the 16
// partials by halving; the pure-Go kernels evaluate the assembly's
// polynomials and fuse exactly where it does, with fma32, a correctly
// rounded float32 fused multiply-add. The few scalar transcendentals
// (Tanh, the logarithm in LogSoftmaxRows) come from internal/detmath,
// not package math, whose results differ between architectures. A NaN
// result is NaN on every path, but not always the same NaN: x86 makes a
// negative one where arm64 and the pure-Go code make a positive one.
package kernels
