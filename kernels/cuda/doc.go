// Package cuda runs vlpuda's kernels on an NVIDIA GPU through the CUDA
// driver API and cuBLAS, loaded at run time, without cgo.
//
// Built with -tags cuda on linux/amd64 or linux/arm64, Open finds
// libcuda.so.1 and libcublas.so.* (in the directories of VLPUDA_CUDA_LIB,
// then where the dynamic loader looks, then the usual CUDA install paths),
// binds every function this package calls with github.com/ebitengine/purego,
// and names the library or symbol that is missing when it cannot. Built
// without the tag, Open returns ErrNotBuilt and the binary links nothing of
// the GPU's.
//
// A Device owns one GPU: the primary context of the device, one stream,
// one cuBLAS handle and the module of the package's PTX kernels, all used
// from one goroutine locked to its OS thread. Every method sends its work
// to that goroutine and waits for it, so a Device is safe for concurrent
// use. Memory comes from cuMemAlloc through a caching allocator (size
// classes, no managed memory); Buffer is a float32 array in device memory.
//
// Sgemm computes the row-major product of kernels.Sgemm with cuBLAS SGEMM
// (as the column-major product of the transposes). TF32 tensor cores are
// off unless SetTF32 turns them on. The elementwise and row-wise kernels
// (Add, Mul, Axpy, Scale, ReLU, Exp, Sigmoid, Tanh, QuickGELU, SoftmaxRows,
// LayerNormRows, SGDMomentum) are PTX in kernels.ptx, written by
// internal/cmd/ptxgen (with internal/ptxgen) from the constants of the CPU kernels, so that the
// elementwise ones evaluate the same polynomials with the same roundings.
//
// This is the driver layer only: tensors still live in host memory, and
// nothing above package kernels uses a Device yet.
package cuda

//go:generate go run ../../internal/cmd/ptxgen -consts ../eltwise_consts.go -o kernels.ptx
