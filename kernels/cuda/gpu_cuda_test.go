//go:build cuda && linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/kernels"
)

// The tests named TestGPU run on device 0 when there is one and skip,
// saying why, when there is none. bench/gpu/check.sh runs them.

var gpu = sync.OnceValues(func() (*Device, error) { return Open(0) })

func TestMain(m *testing.M) {
	code := m.Run()
	if d, err := gpu(); err == nil {
		if err := d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close the device:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// openGPU returns the shared device or skips the test.
func openGPU(t *testing.T) *Device {
	t.Helper()
	d, err := gpu()
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	return d
}

// upload copies h to a new device buffer.
func upload(t *testing.T, d *Device, h []float32) *Buffer {
	t.Helper()
	b, err := d.Alloc(len(h))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free(b) })
	if err := d.CopyIn(b, h); err != nil {
		t.Fatal(err)
	}
	return b
}

// download returns the contents of b.
func download(t *testing.T, d *Device, b *Buffer) []float32 {
	t.Helper()
	h := make([]float32, b.Len())
	if err := d.CopyOut(h, b); err != nil {
		t.Fatal(err)
	}
	return h
}

// randomFloats returns n floats uniform in [-scale, scale).
func randomFloats(rng *rand.Rand, n int, scale float32) []float32 {
	h := make([]float32, n)
	for i := range h {
		h[i] = (rng.Float32()*2 - 1) * scale
	}
	return h
}

func TestGPUInfo(t *testing.T) {
	d := openGPU(t)
	i := d.Info()
	t.Logf("device %d: %s, compute capability %d.%d, %d SMs, %.1f GiB; driver CUDA %d.%d (%s), cuBLAS %s",
		i.Ordinal, i.Name, i.Major, i.Minor, i.SMs, float64(i.Memory)/(1<<30), i.DriverVersion/1000, i.DriverVersion%1000/10, i.DriverLib, i.BLASLib)
}

// sgemmTolerance returns, for each element of C, the bound 4·k·2⁻²⁴·Σ_p|a_ip·b_pj|
// (+ |beta·c|): twice the worst-case error of a float32 sum of k products,
// within which any two correct SGEMMs agree.
func sgemmTolerance(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float32 {
	abs := func(x []float32) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = float32(math.Abs(float64(v)))
		}
		return y
	}
	tol := abs(c)
	kernels.Sgemm(ta, tb, m, n, k, float32(math.Abs(float64(alpha))), abs(a), lda, abs(b), ldb, float32(math.Abs(float64(beta))), tol, ldc)
	for i := range tol {
		tol[i] *= 4 * float32(max(k, 1)) / (1 << 24)
	}
	return tol
}

func TestGPUSgemm(t *testing.T) {
	d := openGPU(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []sgemmCase{
		{false, false, 1, 1, 1, 0, 1, 0},
		{false, false, 17, 33, 65, 0, 1, 0},
		{true, false, 100, 37, 129, 3, 0.5, 1},
		{false, true, 64, 256, 48, 1, 1, -0.5},
		{true, true, 31, 77, 300, 2, 2, 0.25},
		{false, false, 1000, 1000, 1000, 0, 1, 0},
		{false, false, 4096, 4096, 4096, 0, 1, 0},
	} {
		name := fmt.Sprintf("%v%v_%dx%dx%d", c.ta, c.tb, c.m, c.n, c.k)
		t.Run(name, func(t *testing.T) {
			aLen, bLen, cLen, lda, ldb, ldc := c.layout()
			a := randomFloats(rng, aLen, 1)
			b := randomFloats(rng, bLen, 1)
			cpu := randomFloats(rng, cLen, 1)
			tol := sgemmTolerance(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cpu, ldc)
			cb := upload(t, d, cpu)
			if err := d.Sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, upload(t, d, a), lda, upload(t, d, b), ldb, c.beta, cb, ldc); err != nil {
				t.Fatal(err)
			}
			got := download(t, d, cb)
			kernels.Sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cpu, ldc)
			worst := 0.0
			for i := range cpu {
				diff := math.Abs(float64(got[i] - cpu[i]))
				if diff > float64(tol[i]) {
					t.Fatalf("C[%d] = %v, kernels.Sgemm %v: differ by %g > %g", i, got[i], cpu[i], diff, tol[i])
				}
				if tol[i] > 0 {
					worst = max(worst, diff/float64(tol[i]))
				}
			}
			t.Logf("largest difference from kernels.Sgemm: %.3f of the bound 4·k·2⁻²⁴·Σ|a·b|", worst)
		})
	}
}

// TestGPUSgemmTF32 checks that SetTF32 changes the arithmetic: against
// float64 dot products at sampled elements of a 1024³ product, the RMS
// error with TF32 (inputs rounded to 10-bit mantissas, about 2⁻¹¹) must be
// at least 20 times FP32's, and FP32's must be back once TF32 is off.
func TestGPUSgemmTF32(t *testing.T) {
	d := openGPU(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const n, samples = 1024, 2000
	a, b := randomFloats(rng, n*n, 1), randomFloats(rng, n*n, 1)
	ab, bb, cb := upload(t, d, a), upload(t, d, b), upload(t, d, make([]float32, n*n))
	at := make([]int, samples)
	exact := make([]float64, samples)
	for s := range at {
		i, j := rng.IntN(n), rng.IntN(n)
		at[s] = i*n + j
		for p := 0; p < n; p++ {
			exact[s] += float64(a[i*n+p]) * float64(b[p*n+j])
		}
	}
	rms := func(tf32 bool) float64 {
		if err := d.SetTF32(tf32); err != nil {
			t.Fatal(err)
		}
		if err := d.Sgemm(false, false, n, n, n, 1, ab, n, bb, n, 0, cb, n); err != nil {
			t.Fatal(err)
		}
		got := download(t, d, cb)
		var sq float64
		for s, i := range at {
			sq += (float64(got[i]) - exact[s]) * (float64(got[i]) - exact[s])
		}
		return math.Sqrt(sq / samples)
	}
	fp32, tf32, again := rms(false), rms(true), rms(false)
	t.Logf("RMS error against float64 at %d elements of a %d³ product: FP32 %.3g, TF32 %.3g", samples, n, fp32, tf32)
	if tf32 < 20*fp32 {
		t.Errorf("TF32's error %.3g is not 20 times FP32's %.3g: SetTF32(true) had no effect", tf32, fp32)
	}
	if again != fp32 {
		t.Errorf("after SetTF32(false) the error is %.3g, was %.3g", again, fp32)
	}
}

// TestGPUSgemm4096Speed times cuBLAS SGEMM at 4096³, FP32 and TF32.
func TestGPUSgemm4096Speed(t *testing.T) {
	d := openGPU(t)
	const n, reps = 4096, 20
	rng := rand.New(rand.NewPCG(7, 8))
	a, b := upload(t, d, randomFloats(rng, n*n, 1)), upload(t, d, randomFloats(rng, n*n, 1))
	c, err := d.Alloc(n * n)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free(c)
	for _, tf32 := range []bool{false, true} {
		if err := d.SetTF32(tf32); err != nil {
			t.Fatal(err)
		}
		run := func(k int) time.Duration {
			start := time.Now()
			for range k {
				if err := d.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Sync(); err != nil {
				t.Fatal(err)
			}
			return time.Since(start)
		}
		run(3) // warm up
		el := run(reps)
		t.Logf("cuBLAS SGEMM 4096³ (TF32 %v): %.2f ms per product, %.1f TFLOP/s", tf32,
			el.Seconds()*1e3/reps, 2*n*n*n*reps/el.Seconds()/1e12)
	}
	if err := d.SetTF32(false); err != nil {
		t.Fatal(err)
	}
}

// specialFloats are inputs every elementwise kernel is checked on.
var specialFloats = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-40, -1e-40, 88.7, 89, -103, -104, -105, 20, -20,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}

// sameBits reports whether a and b are the same float32, any NaN matching
// any NaN (the GPU's NaNs have another payload).
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestGPUElementwise compares every elementwise kernel with its CPU
// counterpart on random and special inputs. The PTX rounds and fuses where
// the CPU kernels do, so all but Tanh must match bit for bit; Tanh
// (math.Tanh on the CPU) must be within 5e-7.
func TestGPUElementwise(t *testing.T) {
	d := openGPU(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 1000, 100_003, 1<<24 + 1001} {
		x := randomFloats(rng, max(n, len(specialFloats)), 30)
		copy(x, specialFloats)
		y := randomFloats(rng, len(x), 30)
		buf := randomFloats(rng, len(x), 1)
		xb, yb, out := upload(t, d, x), upload(t, d, y), upload(t, d, make([]float32, len(x)))
		for _, c := range []struct {
			name string
			gpu  func() error
			cpu  func(dst []float32)
			tol  float64
		}{
			{"Add", func() error { return d.Add(out, xb, yb) }, func(dst []float32) { kernels.Add(dst, x, y) }, 0},
			{"Mul", func() error { return d.Mul(out, xb, yb) }, func(dst []float32) { kernels.Mul(dst, x, y) }, 0},
			{"Scale", func() error { return d.Scale(out, -0.37, xb) }, func(dst []float32) { kernels.Scale(dst, -0.37, x) }, 0},
			{"Axpy", func() error {
				if err := d.CopyIn(out, y); err != nil {
					return err
				}
				return d.Axpy(1.7, xb, out)
			}, func(dst []float32) { copy(dst, y); kernels.Axpy(1.7, x, dst) }, 0},
			{"ReLU", func() error { return d.ReLU(out, xb) }, func(dst []float32) { kernels.ReLU(dst, x) }, 0},
			{"Exp", func() error { return d.Exp(out, xb) }, func(dst []float32) { kernels.Exp(dst, x) }, 0},
			{"Sigmoid", func() error { return d.Sigmoid(out, xb) }, func(dst []float32) { kernels.Sigmoid(dst, x) }, 0},
			{"QuickGELU", func() error { return d.QuickGELU(out, xb) }, func(dst []float32) { kernels.QuickGELU(dst, x) }, 0},
			{"Tanh", func() error { return d.Tanh(out, xb) }, func(dst []float32) { kernels.Tanh(dst, x) }, 5e-7},
		} {
			if n > 1<<20 && c.name != "Add" && c.name != "Exp" {
				continue // the large size checks the grid-stride loop once
			}
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				if err := c.gpu(); err != nil {
					t.Fatal(err)
				}
				got, want := download(t, d, out), make([]float32, len(x))
				c.cpu(want)
				compare(t, x, got, want, c.tol)
			})
		}
		for _, nesterov := range []bool{false, true} {
			t.Run(fmt.Sprintf("SGDMomentum/nesterov=%v/%d", nesterov, n), func(t *testing.T) {
				w, g, m := append([]float32(nil), x...), y, append([]float32(nil), buf...)
				wb, gb, mb := upload(t, d, w), upload(t, d, g), upload(t, d, m)
				if err := d.SGDMomentum(wb, gb, mb, 0.05, 5e-4, 0.9, 0.9, nesterov); err != nil {
					t.Fatal(err)
				}
				kernels.SGDMomentum(w, g, m, 0.05, 5e-4, 0.9, 0.9, nesterov)
				compare(t, x, download(t, d, wb), w, 0)
				compare(t, x, download(t, d, mb), m, 0)
			})
		}
	}
}

// compare fails t where got and want differ by more than tol (0: in any
// bit but a NaN's payload).
func compare(t *testing.T, x, got, want []float32, tol float64) {
	t.Helper()
	bad := 0
	for i := range want {
		ok := sameBits(got[i], want[i]) || math.Abs(float64(got[i]-want[i])) <= tol
		if !ok {
			if bad < 5 {
				t.Errorf("x[%d] = %v: got %v (%#08x), want %v (%#08x)", i, x[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d elements differ", bad, len(want))
	}
}

// ulps returns the distance of a and b in units in the last place.
func ulps(a, b float32) float64 {
	if sameBits(a, b) {
		return 0
	}
	return math.Abs(float64(a-b)) / float64(math.Nextafter32(max(abs32(a), abs32(b)), float32(math.Inf(1)))-max(abs32(a), abs32(b)))
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// TestGPUSoftmaxRows compares SoftmaxRows with the CPU's: the row sums are
// float64 sums in another order, so the results may differ by an ulp.
func TestGPUSoftmaxRows(t *testing.T) {
	d := openGPU(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []struct{ rows, cols int }{{1, 1}, {3, 7}, {64, 1000}, {5, 4097}, {1000, 31}} {
		t.Run(fmt.Sprintf("%dx%d", s.rows, s.cols), func(t *testing.T) {
			x := randomFloats(rng, s.rows*s.cols, 20)
			out := upload(t, d, make([]float32, len(x)))
			if err := d.SoftmaxRows(out, upload(t, d, x), s.cols); err != nil {
				t.Fatal(err)
			}
			got, want := download(t, d, out), make([]float32, len(x))
			kernels.SoftmaxRows(want, x, s.cols)
			worst := 0.0
			for i := range want {
				worst = max(worst, ulps(got[i], want[i]))
			}
			t.Logf("largest difference: %.0f ulp", worst)
			if worst > 2 {
				t.Errorf("the GPU's softmax is %.0f ulp from the CPU's, want ≤ 2", worst)
			}
		})
	}
}

// TestGPULayerNormRows compares LayerNormRows with the CPU's. The GPU sums
// the squared deviations in float64, the CPU in float32 lanes (a relative
// error of a few 1e-7), so outputs agree within 1e-5·(1+|y|) and the means
// within 2 ulp.
func TestGPULayerNormRows(t *testing.T) {
	d := openGPU(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, s := range []struct{ rows, cols int }{{1, 1}, {3, 7}, {64, 768}, {7, 4097}} {
		t.Run(fmt.Sprintf("%dx%d", s.rows, s.cols), func(t *testing.T) {
			x := randomFloats(rng, s.rows*s.cols, 3)
			for i := range x {
				x[i] += 1.5
			}
			gamma, beta := randomFloats(rng, s.cols, 2), randomFloats(rng, s.cols, 1)
			out, mb, rb := upload(t, d, make([]float32, len(x))), upload(t, d, make([]float32, s.rows)), upload(t, d, make([]float32, s.rows))
			if err := d.LayerNormRows(out, mb, rb, upload(t, d, x), upload(t, d, gamma), upload(t, d, beta), s.cols, 1e-5); err != nil {
				t.Fatal(err)
			}
			want, mean, rstd := make([]float32, len(x)), make([]float32, s.rows), make([]float32, s.rows)
			kernels.LayerNormRows(want, mean, rstd, x, gamma, beta, s.cols, 1e-5)
			got, gm, gr := download(t, d, out), download(t, d, mb), download(t, d, rb)
			for r := range mean {
				if u := ulps(gm[r], mean[r]); u > 2 {
					t.Errorf("row %d: mean %v, CPU %v (%.0f ulp)", r, gm[r], mean[r], u)
				}
				if rel := math.Abs(float64(gr[r]-rstd[r])) / float64(rstd[r]); rel > 1e-5 {
					t.Errorf("row %d: rstd %v, CPU %v", r, gr[r], rstd[r])
				}
			}
			worst := 0.0
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i]-want[i]))/(1+math.Abs(float64(want[i]))))
			}
			t.Logf("largest difference: %.2g·(1+|y|)", worst)
			if worst > 1e-5 {
				t.Errorf("the GPU's layer norm is %.2g·(1+|y|) from the CPU's, want ≤ 1e-5", worst)
			}
		})
	}
}

// TestGPUAllocatorReuses checks that a freed block serves the next request
// of its size class without cuMemAlloc.
func TestGPUAllocatorReuses(t *testing.T) {
	d := openGPU(t)
	b, err := d.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	p := b.Ptr()
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
	before := d.Stats()
	b, err = d.Alloc(900)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free(b)
	after := d.Stats()
	if b.Ptr() != p || after.Hits != before.Hits+1 || after.DriverAllocs != before.DriverAllocs {
		t.Errorf("reallocation: %#x (was %#x), stats %+v then %+v", uint64(b.Ptr()), uint64(p), before, after)
	}
	t.Logf("allocator: %+v", after)
}
