package cuda

import (
	"errors"
	"fmt"
	"unsafe"
)

// ErrNotBuilt is returned by Open in a binary built without -tags cuda (or
// for a platform other than linux/amd64 and linux/arm64).
var ErrNotBuilt = errors.New("cuda: built without -tags cuda (CGO_ENABLED=0 go build -tags cuda on linux/amd64 or linux/arm64)")

// ErrClosed is returned by the methods of a closed Device.
var ErrClosed = errors.New("cuda: device is closed")

// DevicePtr is an address in device memory (CUdeviceptr).
type DevicePtr uint64

// result is a CUresult of the driver API or a cublasStatus_t.
type result int32

// The results this package tells apart.
const (
	cudaSuccess     result = 0
	cudaOutOfMemory result = 2
	cudaNoDevice    result = 100
)

// Error is a failed call of the driver API or of cuBLAS.
type Error struct {
	Func string // the function that failed, cuMemAlloc_v2 say
	Code int    // its CUresult or cublasStatus_t
	Msg  string // the library's description of Code, if it has one
}

// Error returns the function, the code and its description.
func (e *Error) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("cuda: %s: error %d", e.Func, e.Code)
	}
	return fmt.Sprintf("cuda: %s: error %d (%s)", e.Func, e.Code, e.Msg)
}

// isOutOfMemory reports whether err is the driver's out-of-memory error.
func isOutOfMemory(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == int(cudaOutOfMemory) && e.Func == "cuMemAlloc_v2"
}

// driverAPI holds the functions of libcuda.so.1 that this package calls.
// Each field's tag names the symbol it is bound to; bind fills every field
// or names the symbol it could not find. Tests fill the fields with a fake.
type driverAPI struct {
	cuInit                    func(flags uint32) result                                                                                                     `sym:"cuInit"`
	cuDriverGetVersion        func(version *int32) result                                                                                                   `sym:"cuDriverGetVersion"`
	cuDeviceGetCount          func(count *int32) result                                                                                                     `sym:"cuDeviceGetCount"`
	cuDeviceGet               func(dev *int32, ordinal int32) result                                                                                        `sym:"cuDeviceGet"`
	cuDeviceGetName           func(name *byte, n int32, dev int32) result                                                                                   `sym:"cuDeviceGetName"`
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) result                                                                                  `sym:"cuDeviceGetAttribute"`
	cuDeviceTotalMem          func(bytes *uint64, dev int32) result                                                                                         `sym:"cuDeviceTotalMem_v2"`
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) result                                                                                          `sym:"cuDevicePrimaryCtxRetain"`
	cuDevicePrimaryCtxRelease func(dev int32) result                                                                                                        `sym:"cuDevicePrimaryCtxRelease_v2"`
	cuCtxSetCurrent           func(ctx uintptr) result                                                                                                      `sym:"cuCtxSetCurrent"`
	cuStreamCreate            func(stream *uintptr, flags uint32) result                                                                                    `sym:"cuStreamCreate"`
	cuStreamDestroy           func(stream uintptr) result                                                                                                   `sym:"cuStreamDestroy_v2"`
	cuStreamSynchronize       func(stream uintptr) result                                                                                                   `sym:"cuStreamSynchronize"`
	cuMemAlloc                func(p *DevicePtr, bytes uint64) result                                                                                       `sym:"cuMemAlloc_v2"`
	cuMemFree                 func(p DevicePtr) result                                                                                                      `sym:"cuMemFree_v2"`
	cuMemcpyHtoD              func(dst DevicePtr, src unsafe.Pointer, bytes uint64) result                                                                  `sym:"cuMemcpyHtoD_v2"`
	cuMemcpyDtoH              func(dst unsafe.Pointer, src DevicePtr, bytes uint64) result                                                                  `sym:"cuMemcpyDtoH_v2"`
	cuModuleLoadData          func(mod *uintptr, image *byte) result                                                                                        `sym:"cuModuleLoadData"`
	cuModuleUnload            func(mod uintptr) result                                                                                                      `sym:"cuModuleUnload"`
	cuModuleGetFunction       func(fn *uintptr, mod uintptr, name *byte) result                                                                             `sym:"cuModuleGetFunction"`
	cuLaunchKernel            func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params *unsafe.Pointer, extra *unsafe.Pointer) result `sym:"cuLaunchKernel"`
	cuGetErrorString          func(code result, msg **byte) result                                                                                          `sym:"cuGetErrorString"`
}

// blasAPI holds the functions of libcublas.so that this package calls.
type blasAPI struct {
	cublasCreate      func(handle *uintptr) result                                                                                                                                      `sym:"cublasCreate_v2"`
	cublasDestroy     func(handle uintptr) result                                                                                                                                       `sym:"cublasDestroy_v2"`
	cublasSetStream   func(handle, stream uintptr) result                                                                                                                               `sym:"cublasSetStream_v2"`
	cublasSetMathMode func(handle uintptr, mode int32) result                                                                                                                           `sym:"cublasSetMathMode"`
	cublasSgemm       func(handle uintptr, transa, transb, m, n, k int32, alpha *float32, a DevicePtr, lda int32, b DevicePtr, ldb int32, beta *float32, c DevicePtr, ldc int32) result `sym:"cublasSgemm_v2"`
}

// The cuBLAS constants this package passes.
const (
	cublasOpN             = 0 // CUBLAS_OP_N
	cublasOpT             = 1 // CUBLAS_OP_T
	cublasDefaultMath     = 0 // CUBLAS_DEFAULT_MATH: FP32 arithmetic for SGEMM
	cublasTF32TensorOp    = 3 // CUBLAS_TF32_TENSOR_OP_MATH
	attrComputeCapMajor   = 75
	attrComputeCapMinor   = 76
	attrMultiprocessorCnt = 16
)

// check turns the result r of the driver function fn into an error.
func (d *driverAPI) check(fn string, r result) error {
	if r == cudaSuccess {
		return nil
	}
	e := &Error{Func: fn, Code: int(r)}
	var msg *byte
	if d.cuGetErrorString != nil && d.cuGetErrorString(r, &msg) == cudaSuccess {
		e.Msg = cString(msg)
	}
	return e
}

// checkBLAS turns the status r of the cuBLAS function fn into an error.
func checkBLAS(fn string, r result) error {
	if r == cudaSuccess {
		return nil
	}
	return &Error{Func: fn, Code: int(r), Msg: blasStatus(r)}
}

// blasStatus names a cublasStatus_t.
func blasStatus(r result) string {
	switch r {
	case 1:
		return "CUBLAS_STATUS_NOT_INITIALIZED"
	case 3:
		return "CUBLAS_STATUS_ALLOC_FAILED"
	case 7:
		return "CUBLAS_STATUS_INVALID_VALUE"
	case 8:
		return "CUBLAS_STATUS_ARCH_MISMATCH"
	case 11:
		return "CUBLAS_STATUS_MAPPING_ERROR"
	case 13:
		return "CUBLAS_STATUS_EXECUTION_FAILED"
	case 14:
		return "CUBLAS_STATUS_INTERNAL_ERROR"
	case 15:
		return "CUBLAS_STATUS_NOT_SUPPORTED"
	}
	return ""
}

// cString copies the NUL-terminated C string at p (at most 4096 bytes).
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := 0; i < 4096; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
