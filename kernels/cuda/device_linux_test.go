package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
)

// openFake opens a Device over a fake GPU of capacity bytes.
func openFake(t *testing.T, capacity int64) (*Device, *fakeGPU) {
	t.Helper()
	f := newFakeGPU(capacity)
	d, err := open(f.libraries(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, f
}

func TestDeviceOneThread(t *testing.T) {
	d, f := openFake(t, 1<<20)
	if info := d.Info(); info.Name != "Fake GPU" || info.Major != attrComputeCapMajor || info.DriverVersion != 12040 {
		t.Errorf("Info = %+v", info)
	}
	if len(f.funcs) != len(kernelParams) {
		t.Errorf("looked up %d kernels, want %d", len(f.funcs), len(kernelParams))
	}
	// Calls from many goroutines all reach the driver on the device's thread.
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			b, err := d.Alloc(100)
			if err == nil {
				err = d.CopyIn(b, make([]float32, 100))
			}
			if err == nil {
				err = d.Free(b)
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.threads) != 1 {
		t.Errorf("the driver was called from %d OS threads, want 1", len(f.threads))
	}
	if len(f.blocks) != 0 || f.used != 0 {
		t.Errorf("after Close %d blocks (%d bytes) are still allocated", len(f.blocks), f.used)
	}
	if _, err := d.Alloc(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Alloc after Close: %v, want ErrClosed", err)
	}
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	for _, fn := range []string{"cuInit", "cuDevicePrimaryCtxRetain", "cuModuleLoadData", "cuModuleGetFunction", "cublasSetMathMode"} {
		t.Run(fn, func(t *testing.T) {
			f := newFakeGPU(1 << 20)
			f.failOn = fn
			_, err := open(f.libraries(), 0)
			if err == nil || !strings.Contains(err.Error(), "error 999") {
				t.Fatalf("open with %s failing: %v", fn, err)
			}
		})
	}
	f := newFakeGPU(1 << 20)
	if _, err := open(f.libraries(), 3); err == nil || !strings.Contains(err.Error(), "no device 3") {
		t.Errorf("open(3) of 1 device: %v", err)
	}
}

func TestCopyRoundTrip(t *testing.T) {
	d, _ := openFake(t, 1<<20)
	for _, n := range []int{1, 7, 1000} {
		b, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i) - 0.5
		}
		dst := make([]float32, n)
		if err := d.CopyIn(b, src); err != nil {
			t.Fatal(err)
		}
		if err := d.CopyOut(dst, b); err != nil {
			t.Fatal(err)
		}
		for i := range src {
			if dst[i] != src[i] {
				t.Fatalf("n=%d: element %d: got %v, want %v", n, i, dst[i], src[i])
			}
		}
		if err := d.CopyIn(b, make([]float32, n+1)); err == nil {
			t.Errorf("n=%d: copying %d floats in succeeded", n, n+1)
		}
		if err := d.CopyOut(make([]float32, n+1), b); err == nil {
			t.Errorf("n=%d: copying %d floats out succeeded", n, n+1)
		}
	}
	bad := []int{0, -1}
	if tooLong := int64(MaxLen) + 1; int64(int(tooLong)) == tooLong { // not on 32-bit platforms
		bad = append(bad, int(tooLong))
	}
	for _, n := range bad {
		if _, err := d.Alloc(n); err == nil {
			t.Errorf("Alloc(%d) succeeded", n)
		}
	}
}

// TestLaunchArguments checks what the driver reads from the kernel
// parameters of every operation: the buffers' addresses, the counts and
// the floats' bits, in the order of the PTX parameter lists.
func TestLaunchArguments(t *testing.T) {
	d, f := openFake(t, 1<<20)
	buf := func(n int) *Buffer {
		b, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x, y, z := buf(600), buf(600), buf(600)
	mean, rstd, g, bt := buf(3), buf(3), buf(200), buf(200)
	p := func(b *Buffer) uint64 { return uint64(b.ptr) }
	for _, c := range []struct {
		name      string
		run       func() error
		grid, blk uint32
		args      []uint64
	}{
		{"vlp_add", func() error { return d.Add(z, x, y) }, 3, 256, []uint64{p(z), p(x), p(y), 600}},
		{"vlp_mul", func() error { return d.Mul(z, x, y) }, 3, 256, []uint64{p(z), p(x), p(y), 600}},
		{"vlp_axpy", func() error { return d.Axpy(-2.5, x, y) }, 3, 256, []uint64{bitsOf(-2.5), p(x), p(y), 600}},
		{"vlp_scale", func() error { return d.Scale(z, 0.25, x) }, 3, 256, []uint64{p(z), bitsOf(0.25), p(x), 600}},
		{"vlp_relu", func() error { return d.ReLU(z, x) }, 3, 256, []uint64{p(z), p(x), 600}},
		{"vlp_exp", func() error { return d.Exp(z, x) }, 3, 256, []uint64{p(z), p(x), 600}},
		{"vlp_sigmoid", func() error { return d.Sigmoid(z, x) }, 3, 256, []uint64{p(z), p(x), 600}},
		{"vlp_tanh", func() error { return d.Tanh(z, x) }, 3, 256, []uint64{p(z), p(x), 600}},
		{"vlp_quickgelu", func() error { return d.QuickGELU(z, x) }, 3, 256, []uint64{p(z), p(x), 600}},
		{"vlp_softmax_rows", func() error { return d.SoftmaxRows(z, x, 200) }, 3, 256, []uint64{p(z), p(x), 3, 200}},
		{"vlp_layernorm_rows", func() error { return d.LayerNormRows(z, mean, rstd, x, g, bt, 200, 1e-5) }, 3, 256,
			[]uint64{p(z), p(mean), p(rstd), p(x), p(g), p(bt), 3, 200, bitsOf(1e-5)}},
		{"vlp_sgd_momentum", func() error { return d.SGDMomentum(x, y, z, 0.1, 5e-4, 0.9, 1, true) }, 3, 256,
			[]uint64{p(x), p(y), p(z), 600, bitsOf(0.1), bitsOf(5e-4), bitsOf(0.9), bitsOf(1), 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.launches = nil
			if err := c.run(); err != nil {
				t.Fatal(err)
			}
			if len(f.launches) != 1 {
				t.Fatalf("%d launches, want 1", len(f.launches))
			}
			l := f.launches[0]
			if l.name != c.name || l.grid != (Dim3{c.grid, 1, 1}) || l.block != (Dim3{c.blk, 1, 1}) {
				t.Errorf("launched %s grid %v block %v, want %s grid %d block %d", l.name, l.grid, l.block, c.name, c.grid, c.blk)
			}
			if len(l.args) != len(c.args) {
				t.Fatalf("args %x, want %x", l.args, c.args)
			}
			for i := range c.args {
				if l.args[i] != c.args[i] {
					t.Errorf("argument %d = %#x, want %#x", i, l.args[i], c.args[i])
				}
			}
		})
	}
}

func TestOpErrors(t *testing.T) {
	d, f := openFake(t, 1<<20)
	a, _ := d.Alloc(6)
	b, _ := d.Alloc(5)
	for _, c := range []struct {
		name string
		run  func() error
		want string
	}{
		{"Add lengths", func() error { return d.Add(a, a, b) }, "lengths 6 and 5 differ"},
		{"Add nil", func() error { return d.Add(a, nil, a) }, "argument 2 is nil"},
		{"Softmax rows", func() error { return d.SoftmaxRows(a, a, 4) }, "6 elements are not rows of 4"},
		{"Softmax cols", func() error { return d.SoftmaxRows(a, a, 0) }, "not rows of 0"},
		{"LayerNorm stats", func() error { return d.LayerNormRows(a, b, b, a, a, a, 3, 1e-5) }, "mean and rstd must hold 2 rows"},
		{"LayerNorm gamma", func() error { return d.LayerNormRows(a, a, a, a, b, b, 1, 1e-5) }, "gamma and beta must hold 1 columns"},
		{"Launch unknown", func() error { return d.Launch("nope", Dim3{1, 1, 1}, Dim3{1, 1, 1}, 0, new(Args)) }, `no kernel "nope"`},
		{"Launch kinds", func() error {
			return d.Launch("vlp_relu", Dim3{1, 1, 1}, Dim3{1, 1, 1}, 0, new(Args).Ptr(1).F32(1).U32(1))
		}, "takes (.u64, .u64, .u32), given (.u64, .f32, .u32)"},
	} {
		f.launches = nil
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		if len(f.launches) != 0 {
			t.Errorf("%s: launched a kernel", c.name)
		}
	}
}

// TestSgemmRowMajor checks the row-major product through the column-major
// BLAS (the fake computes what cublasSgemm is documented to) against
// kernels.Sgemm, for every transpose and padded strides.
func TestSgemmRowMajor(t *testing.T) {
	d, f := openFake(t, 1<<24)
	rng := rand.New(rand.NewPCG(1, 2))
	upload := func(n int) ([]float32, *Buffer) {
		h := make([]float32, n)
		for i := range h {
			h[i] = rng.Float32()*2 - 1
		}
		b, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.CopyIn(b, h); err != nil {
			t.Fatal(err)
		}
		return h, b
	}
	for _, c := range []sgemmCase{
		{false, false, 5, 7, 3, 0, 1, 0},
		{true, false, 5, 7, 3, 2, 0.5, 1},
		{false, true, 4, 9, 6, 1, 1, -0.5},
		{true, true, 8, 3, 5, 3, 2, 0.25},
		{false, false, 1, 1, 17, 0, 1, 0},
	} {
		aLen, bLen, cLen, lda, ldb, ldc := c.layout()
		ah, a := upload(aLen)
		bh, b := upload(bLen)
		ch, cb := upload(cLen)
		if err := d.Sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cb, ldc); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(ch))
		if err := d.CopyOut(got, cb); err != nil {
			t.Fatal(err)
		}
		kernels.Sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, ah, lda, bh, ldb, c.beta, ch, ldc)
		for i := range ch {
			if diff := math.Abs(float64(got[i] - ch[i])); diff > 1e-5 {
				t.Errorf("%+v: C[%d] = %v, kernels.Sgemm %v", c, i, got[i], ch[i])
				break
			}
		}
	}
	if err := d.SetTF32(true); err != nil || f.mathMode != cublasTF32TensorOp {
		t.Errorf("SetTF32(true): %v, math mode %d", err, f.mathMode)
	}
	if err := d.SetTF32(false); err != nil || f.mathMode != cublasDefaultMath {
		t.Errorf("SetTF32(false): %v, math mode %d", err, f.mathMode)
	}
}

func TestSgemmErrors(t *testing.T) {
	d, _ := openFake(t, 1<<20)
	b6, _ := d.Alloc(6)
	b12, _ := d.Alloc(12)
	for _, c := range []struct {
		name    string
		ta      bool
		m, n, k int
		lda     int
		a       *Buffer
		want    string
	}{
		{"negative", false, -1, 2, 3, 3, b6, "m=-1"},
		{"lda", false, 2, 2, 3, 2, b6, "lda=2 for 3 columns"},
		{"short A", false, 3, 2, 3, 3, b6, "A (3×3, stride 3) needs 9 floats, the buffer holds 6"},
		{"short A transposed", true, 2, 2, 3, 2, b6, ""},
		{"nil A", false, 2, 2, 3, 3, nil, "A is nil"},
	} {
		err := d.Sgemm(c.ta, false, c.m, c.n, c.k, 1, c.a, c.lda, b12, 2, 0, b12, 2)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// sgemmCase is a product the SGEMM tests compare with kernels.Sgemm:
// C (m×n) = alpha·op(A)·op(B) + beta·C, every leading dimension pad
// elements wider than its rows.
type sgemmCase struct {
	ta, tb      bool
	m, n, k     int
	pad         int
	alpha, beta float32
}

// layout returns the lengths of A, B and C and their leading dimensions.
func (c sgemmCase) layout() (aLen, bLen, cLen, lda, ldb, ldc int) {
	ar, ac := c.m, c.k
	if c.ta {
		ar, ac = ac, ar
	}
	br, bc := c.k, c.n
	if c.tb {
		br, bc = bc, br
	}
	lda, ldb, ldc = ac+c.pad, bc+c.pad, c.n+c.pad
	return (ar-1)*lda + ac, (br-1)*ldb + bc, (c.m-1)*ldc + c.n, lda, ldb, ldc
}
