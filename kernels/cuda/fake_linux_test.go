package cuda

import (
	"encoding/binary"
	"math"
	"sync"
	"syscall"
	"unsafe"
)

// fakeGPU is a driver and cuBLAS written in Go over host memory, for the
// tests of everything above the bound functions. It records the OS thread
// of every call, the launches with their decoded arguments, and computes
// cublasSgemm as the column-major product it stands for.
type fakeGPU struct {
	mu       sync.Mutex
	capacity int64 // bytes cuMemAlloc may hand out at once
	used     int64 // bytes handed out
	blocks   map[DevicePtr][]byte
	next     DevicePtr
	threads  map[int]bool // OS threads that called in
	launches []fakeLaunch
	funcs    map[uintptr]string
	mathMode int32
	failOn   string // a function that returns an error
}

// fakeLaunch is one recorded cuLaunchKernel.
type fakeLaunch struct {
	name        string
	grid, block Dim3
	args        []uint64 // each argument, read with its kernel's parameter kind
}

func newFakeGPU(capacity int64) *fakeGPU {
	return &fakeGPU{capacity: capacity, blocks: map[DevicePtr][]byte{}, next: 1 << 20,
		threads: map[int]bool{}, funcs: map[uintptr]string{}}
}

// call notes the calling thread and returns an error code for fn if the
// test asked for one.
func (f *fakeGPU) call(fn string) result {
	f.threads[syscall.Gettid()] = true
	if f.failOn == fn {
		return 999
	}
	return cudaSuccess
}

func (f *fakeGPU) bytes(p DevicePtr, n uint64) []byte {
	b, ok := f.blocks[p]
	if !ok || uint64(len(b)) < n {
		panic("fake: bad device pointer or size")
	}
	return b[:n]
}

// floats returns the device memory at p as float32s.
func (f *fakeGPU) floats(p DevicePtr) []float32 {
	b := f.blocks[p]
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// libraries returns the fake's functions as loaded libraries.
func (f *fakeGPU) libraries() *libraries {
	l := &libraries{driverPath: "fake/libcuda.so.1", blasPath: "fake/libcublas.so.12"}
	lock := func(fn string) (result, func()) { f.mu.Lock(); return f.call(fn), f.mu.Unlock }
	d := &l.drv
	d.cuInit = func(uint32) result { r, u := lock("cuInit"); defer u(); return r }
	d.cuDriverGetVersion = func(v *int32) result { *v = 12040; return cudaSuccess }
	d.cuDeviceGetCount = func(n *int32) result { *n = 1; return cudaSuccess }
	d.cuDeviceGet = func(dev *int32, o int32) result { *dev = o; return cudaSuccess }
	d.cuDeviceGetName = func(name *byte, n int32, dev int32) result {
		copy(unsafe.Slice(name, n), "Fake GPU\x00")
		return cudaSuccess
	}
	d.cuDeviceGetAttribute = func(v *int32, attr, dev int32) result { *v = attr; return cudaSuccess }
	d.cuDeviceTotalMem = func(b *uint64, dev int32) result { *b = uint64(f.capacity); return cudaSuccess }
	d.cuDevicePrimaryCtxRetain = func(ctx *uintptr, dev int32) result {
		r, u := lock("cuDevicePrimaryCtxRetain")
		defer u()
		*ctx = 7
		return r
	}
	d.cuDevicePrimaryCtxRelease = func(int32) result { r, u := lock("cuDevicePrimaryCtxRelease"); defer u(); return r }
	d.cuCtxSetCurrent = func(uintptr) result { r, u := lock("cuCtxSetCurrent"); defer u(); return r }
	d.cuStreamCreate = func(s *uintptr, flags uint32) result { *s = 9; return cudaSuccess }
	d.cuStreamDestroy = func(uintptr) result { return cudaSuccess }
	d.cuStreamSynchronize = func(uintptr) result { r, u := lock("cuStreamSynchronize"); defer u(); return r }
	d.cuMemAlloc = func(p *DevicePtr, n uint64) result {
		r, u := lock("cuMemAlloc")
		defer u()
		if r != cudaSuccess {
			return r
		}
		if f.used+int64(n) > f.capacity {
			return cudaOutOfMemory
		}
		f.used += int64(n)
		*p = f.next
		f.blocks[f.next] = make([]byte, n)
		f.next += DevicePtr(n+255) &^ 255
		return cudaSuccess
	}
	d.cuMemFree = func(p DevicePtr) result {
		r, u := lock("cuMemFree")
		defer u()
		f.used -= int64(len(f.blocks[p]))
		delete(f.blocks, p)
		return r
	}
	d.cuMemcpyHtoD = func(dst DevicePtr, src unsafe.Pointer, n uint64) result {
		r, u := lock("cuMemcpyHtoD")
		defer u()
		copy(f.bytes(dst, n), unsafe.Slice((*byte)(src), n))
		return r
	}
	d.cuMemcpyDtoH = func(dst unsafe.Pointer, src DevicePtr, n uint64) result {
		r, u := lock("cuMemcpyDtoH")
		defer u()
		copy(unsafe.Slice((*byte)(dst), n), f.bytes(src, n))
		return r
	}
	d.cuModuleLoadData = func(mod *uintptr, image *byte) result {
		r, u := lock("cuModuleLoadData")
		defer u()
		*mod = 11
		return r
	}
	d.cuModuleUnload = func(uintptr) result { return cudaSuccess }
	d.cuModuleGetFunction = func(fn *uintptr, mod uintptr, name *byte) result {
		r, u := lock("cuModuleGetFunction")
		defer u()
		*fn = uintptr(len(f.funcs) + 100)
		f.funcs[*fn] = cString(name)
		return r
	}
	d.cuLaunchKernel = func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra *unsafe.Pointer) result {
		r, u := lock("cuLaunchKernel")
		defer u()
		name := f.funcs[fn]
		l := fakeLaunch{name: name, grid: Dim3{gx, gy, gz}, block: Dim3{bx, by, bz}}
		ptrs := unsafe.Slice(params, len(kernelParams[name]))
		for i, k := range kernelParams[name] {
			if k == ParamU64 {
				l.args = append(l.args, *(*uint64)(ptrs[i]))
			} else {
				l.args = append(l.args, uint64(binary.LittleEndian.Uint32(unsafe.Slice((*byte)(ptrs[i]), 4))))
			}
		}
		f.launches = append(f.launches, l)
		return r
	}
	d.cuGetErrorString = func(code result, msg **byte) result {
		s := []byte("fake error\x00")
		*msg = &s[0]
		return cudaSuccess
	}
	b := &l.blas
	b.cublasCreate = func(h *uintptr) result { *h = 13; return cudaSuccess }
	b.cublasDestroy = func(uintptr) result { return cudaSuccess }
	b.cublasSetStream = func(h, s uintptr) result { return cudaSuccess }
	b.cublasSetMathMode = func(h uintptr, mode int32) result {
		r, u := lock("cublasSetMathMode")
		defer u()
		f.mathMode = mode
		return r
	}
	b.cublasSgemm = func(h uintptr, ta, tb, m, n, k int32, alpha *float32, a DevicePtr, lda int32, bp DevicePtr, ldb int32, beta *float32, c DevicePtr, ldc int32) result {
		r, u := lock("cublasSgemm")
		defer u()
		f.sgemmColMajor(ta == cublasOpT, tb == cublasOpT, int(m), int(n), int(k), *alpha, a, int(lda), bp, int(ldb), *beta, c, int(ldc))
		return r
	}
	return l
}

// sgemmColMajor computes the column-major C = alpha*op(A)*op(B) + beta*C
// of the BLAS in float64: element (i, j) of X is X[i + j*ldx].
func (f *fakeGPU) sgemmColMajor(ta, tb bool, m, n, k int, alpha float32, ap DevicePtr, lda int, bp DevicePtr, ldb int, beta float32, cp DevicePtr, ldc int) {
	a, b, c := f.floats(ap), f.floats(bp), f.floats(cp)
	at := func(x []float32, ld int, t bool, i, j int) float64 {
		if t {
			i, j = j, i
		}
		return float64(x[i+j*ld])
	}
	for j := 0; j < n; j++ {
		for i := 0; i < m; i++ {
			var s float64
			for p := 0; p < k; p++ {
				s += at(a, lda, ta, i, p) * at(b, ldb, tb, p, j)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i+j*ldc])
			}
			c[i+j*ldc] = float32(v)
		}
	}
}

// bitsOf returns the bits of v as an argument slot holds them.
func bitsOf(v float32) uint64 { return uint64(math.Float32bits(v)) }
