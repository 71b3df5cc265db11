package cuda

import (
	_ "embed"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// ptx is the module of the package's kernels, written by internal/cmd/ptxgen.
//
//go:embed kernels.ptx
var ptx string

// Info describes an open device and the libraries that drive it.
type Info struct {
	Ordinal       int
	Name          string
	Major, Minor  int    // compute capability
	SMs           int    // streaming multiprocessors
	Memory        uint64 // bytes of device memory
	DriverVersion int    // CUDA version of the driver, 12040 for 12.4
	DriverLib     string // the path of libcuda that was loaded
	BLASLib       string // the path of cuBLAS that was loaded
}

// Device is one GPU, driven from one goroutine locked to its OS thread, on
// which the device's primary context is current. Every method runs its
// work there and waits for it, so a Device is safe for concurrent use;
// kernels and SGEMMs run in order on the device's one stream, and the
// copies to the host wait for them.
type Device struct {
	drv   *driverAPI
	blas  *blasAPI
	info  Info
	dev   int32
	ctx   uintptr
	strm  uintptr
	hblas uintptr
	mod   uintptr
	funcs map[string]uintptr
	alloc *allocator

	mu     sync.Mutex // serialises do and Close
	work   chan func()
	closed bool
}

var loadOnce = sync.OnceValues(load)

// Count returns the number of CUDA devices. Its error says which library
// or symbol is missing, or that this build cannot load them (ErrNotBuilt).
func Count() (int, error) {
	libs, err := loadOnce()
	if err != nil {
		return 0, err
	}
	d := &libs.drv
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		return 0, err
	}
	var n int32
	if err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Open loads the CUDA libraries and opens device ordinal: it retains the
// device's primary context (which cuBLAS shares), creates a stream and a
// cuBLAS handle with TF32 off, and loads the package's PTX kernels.
func Open(ordinal int) (*Device, error) {
	libs, err := loadOnce()
	if err != nil {
		return nil, err
	}
	return open(libs, ordinal)
}

// open opens device ordinal with the functions in libs.
func open(libs *libraries, ordinal int) (*Device, error) {
	d := &Device{
		drv:  &libs.drv,
		blas: &libs.blas,
		info: Info{Ordinal: ordinal, DriverLib: libs.driverPath, BLASLib: libs.blasPath},
		work: make(chan func()),
	}
	d.alloc = newAllocator(d)
	ready := make(chan error)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the device's goroutine: it locks itself to its OS thread, sets
// the device up there and runs the work sent to it until Close. It never
// unlocks the thread, so the thread ends with it.
func (d *Device) loop(ready chan<- error) {
	runtime.LockOSThread()
	err := d.setUp()
	if err != nil {
		d.tearDown()
	}
	ready <- err
	if err != nil {
		return
	}
	for f := range d.work {
		f()
	}
}

// setUp initialises the driver and creates what the device owns.
func (d *Device) setUp() error {
	drv := d.drv
	if err := drv.check("cuInit", drv.cuInit(0)); err != nil {
		return err
	}
	var n, v int32
	if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&n)); err != nil {
		return err
	}
	if d.info.Ordinal < 0 || d.info.Ordinal >= int(n) {
		return fmt.Errorf("cuda: no device %d: the driver sees %d", d.info.Ordinal, n)
	}
	if err := drv.check("cuDriverGetVersion", drv.cuDriverGetVersion(&v)); err != nil {
		return err
	}
	d.info.DriverVersion = int(v)
	if err := drv.check("cuDeviceGet", drv.cuDeviceGet(&d.dev, int32(d.info.Ordinal))); err != nil {
		return err
	}
	if err := d.describe(); err != nil {
		return err
	}
	if err := drv.check("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
		return err
	}
	if err := drv.check("cuCtxSetCurrent", drv.cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	if err := drv.check("cuStreamCreate", drv.cuStreamCreate(&d.strm, 0)); err != nil {
		return err
	}
	if err := checkBLAS("cublasCreate_v2", d.blas.cublasCreate(&d.hblas)); err != nil {
		return err
	}
	if err := checkBLAS("cublasSetStream_v2", d.blas.cublasSetStream(d.hblas, d.strm)); err != nil {
		return err
	}
	if err := d.setTF32(false); err != nil {
		return err
	}
	return d.loadModule()
}

// describe fills d.info from the device's name and attributes.
func (d *Device) describe() error {
	drv := d.drv
	var name [256]byte
	if err := drv.check("cuDeviceGetName", drv.cuDeviceGetName(&name[0], int32(len(name)), d.dev)); err != nil {
		return err
	}
	d.info.Name = cString(&name[0])
	for _, a := range []struct {
		attr int32
		dst  *int
	}{{attrComputeCapMajor, &d.info.Major}, {attrComputeCapMinor, &d.info.Minor}, {attrMultiprocessorCnt, &d.info.SMs}} {
		var v int32
		if err := drv.check("cuDeviceGetAttribute", drv.cuDeviceGetAttribute(&v, a.attr, d.dev)); err != nil {
			return err
		}
		*a.dst = int(v)
	}
	return drv.check("cuDeviceTotalMem_v2", drv.cuDeviceTotalMem(&d.info.Memory, d.dev))
}

// loadModule loads the PTX and looks up every kernel of the table.
func (d *Device) loadModule() error {
	image := append([]byte(ptx), 0)
	if err := d.drv.check("cuModuleLoadData", d.drv.cuModuleLoadData(&d.mod, &image[0])); err != nil {
		return fmt.Errorf("load the PTX kernels (they need compute capability 8.0 or newer, this is %d.%d): %w", d.info.Major, d.info.Minor, err)
	}
	d.funcs = make(map[string]uintptr, len(kernelParams))
	for name := range kernelParams {
		cname := append([]byte(name), 0)
		var f uintptr
		if err := d.drv.check("cuModuleGetFunction", d.drv.cuModuleGetFunction(&f, d.mod, &cname[0])); err != nil {
			return fmt.Errorf("kernel %s: %w", name, err)
		}
		d.funcs[name] = f
	}
	return nil
}

// tearDown releases what setUp created, in reverse order, and returns the
// first error.
func (d *Device) tearDown() error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if d.alloc != nil && d.strm != 0 {
		keep(d.drv.check("cuStreamSynchronize", d.drv.cuStreamSynchronize(d.strm)))
	}
	if d.alloc != nil {
		keep(d.alloc.EmptyCache())
	}
	if d.mod != 0 {
		keep(d.drv.check("cuModuleUnload", d.drv.cuModuleUnload(d.mod)))
		d.mod = 0
	}
	if d.hblas != 0 {
		keep(checkBLAS("cublasDestroy_v2", d.blas.cublasDestroy(d.hblas)))
		d.hblas = 0
	}
	if d.strm != 0 {
		keep(d.drv.check("cuStreamDestroy_v2", d.drv.cuStreamDestroy(d.strm)))
		d.strm = 0
	}
	if d.ctx != 0 {
		keep(d.drv.check("cuDevicePrimaryCtxRelease_v2", d.drv.cuDevicePrimaryCtxRelease(d.dev)))
		d.ctx = 0
	}
	return first
}

// do runs f on the device's goroutine and returns its error.
func (d *Device) do(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	errc := make(chan error, 1)
	d.work <- func() { errc <- f() }
	return <-errc
}

// Close waits for the device's work, frees its memory (blocks still
// allocated included), its kernels, stream and cuBLAS handle, and releases
// its context. Closing twice returns ErrClosed.
func (d *Device) Close() error {
	err := d.do(func() error {
		d.alloc.reclaim()
		return d.tearDown()
	})
	if err == ErrClosed {
		return err
	}
	d.mu.Lock()
	d.closed = true
	close(d.work)
	d.mu.Unlock()
	return err
}

// Info describes the device.
func (d *Device) Info() Info { return d.info }

// Stats returns the counters of the device's caching allocator.
func (d *Device) Stats() AllocStats { return d.alloc.Stats() }

// memAlloc and memFree are the allocator's driver; they run on the
// device's goroutine.
func (d *Device) memAlloc(n int64) (DevicePtr, error) {
	var p DevicePtr
	return p, d.drv.check("cuMemAlloc_v2", d.drv.cuMemAlloc(&p, uint64(n)))
}

func (d *Device) memFree(p DevicePtr) error {
	return d.drv.check("cuMemFree_v2", d.drv.cuMemFree(p))
}

// Sync waits for the work queued on the device's stream.
func (d *Device) Sync() error {
	return d.do(d.sync)
}

func (d *Device) sync() error {
	return d.drv.check("cuStreamSynchronize", d.drv.cuStreamSynchronize(d.strm))
}

// SetTF32 turns TF32 tensor-core arithmetic in Sgemm on or off (off after
// Open): on, the inputs of each product are rounded to 10-bit mantissas.
func (d *Device) SetTF32(on bool) error {
	return d.do(func() error { return d.setTF32(on) })
}

func (d *Device) setTF32(on bool) error {
	mode := int32(cublasDefaultMath)
	if on {
		mode = cublasTF32TensorOp
	}
	return checkBLAS("cublasSetMathMode", d.blas.cublasSetMathMode(d.hblas, mode))
}

// MaxLen is the most float32 elements a Buffer holds: the kernels count
// elements and cuBLAS counts rows and strides in 32-bit integers.
const MaxLen = 1<<31 - 1

// Buffer is an array of float32 in device memory, from Device.Alloc.
type Buffer struct {
	ptr DevicePtr
	n   int
}

// Len returns the number of float32 elements of b.
func (b *Buffer) Len() int { return b.n }

// Ptr returns the device address of b's first element.
func (b *Buffer) Ptr() DevicePtr { return b.ptr }

// devPtr returns b's address, or 0 for a nil b.
func (b *Buffer) devPtr() DevicePtr {
	if b == nil {
		return 0
	}
	return b.ptr
}

// Alloc returns a buffer of n float32 elements, 0 < n ≤ MaxLen, whose
// contents are undefined.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if n <= 0 || n > MaxLen {
		return nil, fmt.Errorf("cuda: allocate %d floats: the length must be in [1, %d]", n, MaxLen)
	}
	b := &Buffer{n: n}
	err := d.do(func() (err error) {
		b.ptr, err = d.alloc.Alloc(4 * int64(n))
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Free returns b's memory to the device's cache, once the work queued on
// the stream has finished with it.
func (d *Device) Free(b *Buffer) error {
	return d.do(func() error {
		if err := d.sync(); err != nil {
			return err
		}
		return d.alloc.Free(b.ptr)
	})
}

// CopyIn copies src into the first len(src) elements of dst.
func (d *Device) CopyIn(dst *Buffer, src []float32) error {
	if len(src) > dst.n {
		return fmt.Errorf("cuda: copy %d floats into a buffer of %d", len(src), dst.n)
	}
	if len(src) == 0 {
		return nil
	}
	return d.do(func() error {
		if err := d.sync(); err != nil {
			return err
		}
		err := d.drv.check("cuMemcpyHtoD_v2", d.drv.cuMemcpyHtoD(dst.ptr, unsafe.Pointer(&src[0]), 4*uint64(len(src))))
		runtime.KeepAlive(src)
		return err
	})
}

// CopyOut waits for the work queued on the device and copies the first
// len(dst) elements of src into dst.
func (d *Device) CopyOut(dst []float32, src *Buffer) error {
	if len(dst) > src.n {
		return fmt.Errorf("cuda: copy %d floats out of a buffer of %d", len(dst), src.n)
	}
	if len(dst) == 0 {
		return nil
	}
	return d.do(func() error {
		if err := d.sync(); err != nil {
			return err
		}
		err := d.drv.check("cuMemcpyDtoH_v2", d.drv.cuMemcpyDtoH(unsafe.Pointer(&dst[0]), src.ptr, 4*uint64(len(dst))))
		runtime.KeepAlive(dst)
		return err
	})
}

// Dim3 is a grid or block size of a kernel launch.
type Dim3 struct{ X, Y, Z uint32 }

// Launch queues kernel name of the package's PTX on the device's stream
// with the given grid, block, bytes of dynamic shared memory and
// arguments, which must have the kernel's parameter kinds.
func (d *Device) Launch(name string, grid, block Dim3, shared uint32, args *Args) error {
	params, ok := kernelParams[name]
	if !ok {
		return fmt.Errorf("cuda: no kernel %q", name)
	}
	if err := args.check(name, params); err != nil {
		return err
	}
	return d.do(func() error {
		// The driver reads the argument slots through the pointer array:
		// both stay pinned until it returns.
		var pin runtime.Pinner
		defer pin.Unpin()
		var params *unsafe.Pointer
		if len(args.slots) > 0 {
			pin.Pin(&args.slots[0])
			ptrs := args.pointers()
			pin.Pin(&ptrs[0])
			params = &ptrs[0]
		}
		r := d.drv.cuLaunchKernel(d.funcs[name], grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, shared, d.strm, params, nil)
		return d.drv.check("cuLaunchKernel "+name, r)
	})
}
