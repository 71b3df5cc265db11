package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// forEachISA runs f once per ISA the CPU and build support, with that ISA
// in force.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, isa := range Supported() {
		t.Run(isa.String(), func(t *testing.T) {
			prev, err := Use(isa)
			if err != nil {
				t.Fatal(err)
			}
			defer Use(prev)
			f(t)
		})
	}
}

// A guarded slice sits between guardSentinel runs, so stray writes past either
// end are caught.
const guardLen = 24

var guardSentinel = math.Float32frombits(0x7fc0dead) // a NaN no kernel produces

type guarded struct {
	buf []float32
	n   int
}

func newGuarded(n int) guarded {
	g := guarded{buf: make([]float32, n+2*guardLen), n: n}
	for i := range g.buf {
		g.buf[i] = guardSentinel
	}
	return g
}

// guardedFrom returns a guarded copy of x.
func guardedFrom(x []float32) guarded {
	g := newGuarded(len(x))
	copy(g.s(), x)
	return g
}

func (g guarded) s() []float32 { return g.buf[guardLen : guardLen+g.n : guardLen+g.n] }

func (g guarded) check(t *testing.T, name string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < guardLen || i >= guardLen+g.n) && math.Float32bits(v) != math.Float32bits(guardSentinel) {
			t.Errorf("%s: guard element %d of %d (n=%d) overwritten with %v", name, i-guardLen, len(g.buf), g.n, v)
			return
		}
	}
}

// testLengths covers the empty slice, every tail of both vector widths with
// one to four full vectors, and sizes that take the unrolled and parallel
// paths.
func testLengths() []int {
	ls := make([]int, 0, 80)
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	ls = append(ls, 127, 128, 129, 1000, 4099)
	if !testing.Short() {
		ls = append(ls, 3*grainMath+5, 2*grainArith+3)
	}
	return ls
}

func randSlice(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return x
}

// ulpErr returns |got - want| in units of the float32 spacing at want
// (the subnormal spacing below the normal range). Matching infinities and
// NaNs give 0; a mismatch gives +Inf.
func ulpErr(got float32, want float64) float64 {
	w := float32(want)
	switch {
	case math.IsNaN(want) || math.IsNaN(float64(got)):
		if math.IsNaN(want) && math.IsNaN(float64(got)) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(float64(w), 0) || math.IsInf(float64(got), 0):
		if got == w {
			return 0
		}
		return math.Inf(1)
	}
	exp := max(math.Ilogb(math.Abs(want)), -126)
	ulp := math.Ldexp(1, exp-23)
	return math.Abs(float64(got)-want) / ulp
}

// mixedErr returns |got - want| / (abs + rel·|want|), so ≤ 1 means within
// the bound. Matching non-finite values give 0.
func mixedErr(got float32, want, abs, rel float64) float64 {
	if math.IsNaN(want) || math.IsInf(want, 0) || math.IsNaN(float64(got)) || math.IsInf(float64(got), 0) {
		if (math.IsNaN(want) && math.IsNaN(float64(got))) || float64(got) == want {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got)-want) / (abs + rel*math.Abs(want))
}

var (
	inf  = math.Inf(1)
	nan  = math.NaN()
	f32s = func(v ...float64) []float32 {
		x := make([]float32, len(v))
		for i := range v {
			x[i] = float32(v[i])
		}
		return x
	}
)

// sameBits reports whether x and y hold the same bit patterns.
func sameBits(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}

// Float64 references.

func gaussCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func geluRef(x float64) float64 { return x * gaussCDF(x) }

func geluGradRef(x float64) float64 {
	return gaussCDF(x) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

func quickGELURef(x float64) float64 { return x / (1 + math.Exp(-1.702*x)) }

func quickGELUGradRef(x float64) float64 {
	s := 1 / (1 + math.Exp(-1.702*x))
	return s + 1.702*x*s*(1-s)
}

func sigmoidRef(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// unaryCase is an elementwise kernel dst = f(x) with its float64 reference
// and error bound: every element must satisfy err(got, want) ≤ 1.
type unaryCase struct {
	name    string
	kernel  func(dst, x []float32)
	ref     func(x float64) float64
	lo, hi  float64   // random inputs are uniform on [lo, hi]
	special []float32 // inputs checked besides the random ones
	err     func(got float32, want, x float64) float64
	bound   string
}

func ulpBound(n float64) func(got float32, want, x float64) float64 {
	return func(got float32, want, _ float64) float64 { return ulpErr(got, want) / n }
}

func mixedBound(abs, rel float64) func(got float32, want, x float64) float64 {
	return func(got float32, want, _ float64) float64 { return mixedErr(got, want, abs, rel) }
}

// quickGELUBound allows rel besides a relative error 2|1.702x|·2^-24 that
// comes from rounding the argument of exp to float32 (the generic code
// shares it).
func quickGELUBound(abs, rel float64) func(got float32, want, x float64) float64 {
	return func(got float32, want, x float64) float64 {
		return mixedErr(got, want, abs, rel+2*math.Abs(1.702*x)*0x1p-24)
	}
}

var expSpecial = f32s(nan, inf, -inf, 0, math.Copysign(0, -1), 1, -1, 1e-30, -1e-30,
	88.72, 88.7228, 88.73, 89, 90, 1e30, -87.3, -87.4, -100, -103.27, -103.28, -103.9, -103.98, -104, -1000, -1e30)

var geluSpecial = f32s(nan, inf, 0, math.Copysign(0, -1), 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5,
	3, -3, 5, -5, 8, -8, 9.5, -9.5, 12, -12, 13.5, -13.5, 19.9, -19.9, 20.1, -20.1, 1e3, -1e3, 1e30, -1e30)

func unaryCases() []unaryCase {
	return []unaryCase{
		{"Exp", Exp, math.Exp, -105, 90, expSpecial, ulpBound(2), "2 ulp"},
		{"ReLU", ReLU, func(x float64) float64 { return max(x, 0) }, -10, 10, f32s(nan, inf, -inf, 0), ulpBound(0), "exact"},
		{"Sigmoid", Sigmoid, sigmoidRef, -100, 100, expSpecial, mixedBound(1e-38, 3e-7), "3e-7 relative"},
		{"QuickGELU", QuickGELU, quickGELURef, -60, 60, expSpecial, quickGELUBound(1e-36, 4e-7), "1e-36 + (4e-7 + 2|1.702x|·2^-24) relative"},
		{"GELU", GELU, geluRef, -14, 14, geluSpecial, mixedBound(1e-37, 1e-6), "1e-6 relative"},
	}
}

func TestUnary(t *testing.T) {
	for _, c := range unaryCases() {
		t.Run(c.name, func(t *testing.T) {
			forEachISA(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 2))
				for _, n := range testLengths() {
					x := randSlice(r, n, c.lo, c.hi)
					copy(x, c.special)
					checkUnary(t, c, x)
				}
			})
		})
	}
}

func checkUnary(t *testing.T, c unaryCase, x []float32) {
	t.Helper()
	dst := newGuarded(len(x))
	in := guardedFrom(x)
	c.kernel(dst.s(), in.s())
	dst.check(t, c.name+" dst")
	in.check(t, c.name+" x")
	worst, at := 0.0, -1
	for i, v := range x {
		if e := c.err(dst.s()[i], c.ref(float64(v)), float64(v)); e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	if worst > 1 {
		v := x[at]
		t.Errorf("%s(%v) (n=%d, i=%d) = %v, want %v (bound %s exceeded %.3g×)", c.name, v, len(x), at, dst.s()[at], float32(c.ref(float64(v))), c.bound, worst)
	}
	if !sameBits(in.s(), x) {
		t.Errorf("%s modified its input (n=%d)", c.name, len(x))
	}
	// In place.
	y := slices.Clone(x)
	c.kernel(y, y)
	for i := range y {
		if math.Float32bits(y[i]) != math.Float32bits(dst.s()[i]) {
			t.Errorf("%s in place (n=%d): element %d = %v, out of place %v", c.name, len(x), i, y[i], dst.s()[i])
			break
		}
	}
}

// binaryCase is a kernel dst = f(dy, x), a backward pass or an arithmetic op.
type binaryCase struct {
	name   string
	kernel func(dst, a, b []float32)
	ref    func(a, b float64) float64
	lo, hi float64 // range of b; a is uniform on [-2, 2]
	err    func(got float32, want, b float64) float64
	bound  string
}

func binaryCases() []binaryCase {
	return []binaryCase{
		{"Add", Add, func(a, b float64) float64 { return a + b }, -10, 10, ulpBound(0.5), "0.5 ulp"},
		{"Sub", Sub, func(a, b float64) float64 { return a - b }, -10, 10, ulpBound(0.5), "0.5 ulp"},
		{"Mul", Mul, func(a, b float64) float64 { return a * b }, -10, 10, ulpBound(0.5), "0.5 ulp"},
		{"ReLUBackward", ReLUBackward, func(dy, x float64) float64 {
			if x > 0 {
				return dy
			}
			return 0
		}, -10, 10, ulpBound(0), "exact"},
		{"QuickGELUBackward", QuickGELUBackward, func(dy, x float64) float64 { return dy * quickGELUGradRef(x) }, -60, 60, quickGELUBound(1e-7, 1e-6), "1e-7 + (1e-6 + 2|1.702x|·2^-24) relative"},
		{"GELUBackward", GELUBackward, func(dy, x float64) float64 { return dy * geluGradRef(x) }, -14, 14, mixedBound(1e-7, 1e-6), "1e-7 + 1e-6 relative"},
	}
}

func TestBinary(t *testing.T) {
	for _, c := range binaryCases() {
		t.Run(c.name, func(t *testing.T) {
			forEachISA(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, 4))
				for _, n := range testLengths() {
					a, b := randSlice(r, n, -2, 2), randSlice(r, n, c.lo, c.hi)
					dst, ga, gb := newGuarded(n), guardedFrom(a), guardedFrom(b)
					c.kernel(dst.s(), ga.s(), gb.s())
					dst.check(t, c.name+" dst")
					ga.check(t, c.name+" a")
					gb.check(t, c.name+" b")
					for i := range a {
						want := c.ref(float64(a[i]), float64(b[i]))
						if e := c.err(dst.s()[i], want, float64(b[i])); e > 1 {
							t.Errorf("%s(%v, %v) (n=%d, i=%d) = %v, want %v (bound %s)", c.name, a[i], b[i], n, i, dst.s()[i], want, c.bound)
							break
						}
					}
				}
			})
		})
	}
}

func TestAxpyScaleAddConstAffine(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range testLengths() {
			x, y := randSlice(r, n, -3, 3), randSlice(r, n, -3, 3)
			const alpha = 0.37
			gx, gy := guardedFrom(x), guardedFrom(y)
			Axpy(alpha, gx.s(), gy.s())
			gy.check(t, "Axpy y")
			for i := range y {
				// FMA (one rounding) or multiply-add (two): within 1 ulp
				// of the float64 result plus the product's rounding.
				want := float64(y[i]) + float64(float32(alpha))*float64(x[i])
				if e := mixedErr(gy.s()[i], want, 1e-6, 2e-7); e > 1 {
					t.Fatalf("Axpy (n=%d) y[%d] = %v, want %v", n, i, gy.s()[i], want)
				}
			}

			dst := newGuarded(n)
			Scale(dst.s(), alpha, gx.s())
			dst.check(t, "Scale dst")
			for i := range x {
				if want := float32(alpha) * x[i]; dst.s()[i] != want {
					t.Fatalf("Scale (n=%d) dst[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}

			AddConst(dst.s(), alpha, gx.s())
			dst.check(t, "AddConst dst")
			for i := range x {
				if want := x[i] + float32(alpha); dst.s()[i] != want {
					t.Fatalf("AddConst (n=%d) dst[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}
			Affine(dst.s(), alpha, gx.s(), -1.5)
			dst.check(t, "Affine dst")
			for i := range x {
				want := float64(float32(alpha))*float64(x[i]) - 1.5
				if e := mixedErr(dst.s()[i], want, 2e-7, 2e-7); e > 1 {
					t.Fatalf("Affine (n=%d) dst[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}
			gx.check(t, "x")
		}
	})
}

func TestSumDot(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range testLengths() {
			x, y := randSlice(r, n, -1e3, 1e3), randSlice(r, n, -1, 1)
			gx, gy := guardedFrom(x), guardedFrom(y)
			var s, sa, d, da float64
			for i := range x {
				s += float64(x[i])
				sa += math.Abs(float64(x[i]))
				d += float64(x[i]) * float64(y[i])
				da += math.Abs(float64(x[i]) * float64(y[i]))
			}
			// float64 accumulation: the float32 rounding of the result
			// dominates; allow a little more for the summation order.
			if got := Sum(gx.s()); mixedErr(got, s, 1e-12*sa, 1.2e-7) > 1 {
				t.Errorf("Sum (n=%d) = %v, want %v", n, got, s)
			}
			if got := Dot(gx.s(), gy.s()); mixedErr(got, d, 1e-12*da, 1.2e-7) > 1 {
				t.Errorf("Dot (n=%d) = %v, want %v", n, got, d)
			}
			gx.check(t, "x")
			gy.check(t, "y")
		}
		if got := Sum(f32s(1, nan, 2)); !math.IsNaN(float64(got)) {
			t.Errorf("Sum with NaN = %v, want NaN", got)
		}
		if got := Sum(f32s(1, inf, 2)); got != float32(inf) {
			t.Errorf("Sum with +Inf = %v, want +Inf", got)
		}
		// 2^24 + 1 + 1 + … is exact in float64 lanes.
		x := make([]float32, 33)
		x[0] = 1 << 24
		for i := 1; i < len(x); i++ {
			x[i] = 1
		}
		if got, want := Sum(x), float32(1<<24+32); got != want {
			t.Errorf("Sum(2^24, 1×32) = %v, want %v", got, want)
		}
	})
}

// softmaxRef returns softmax and log-softmax of one row in float64.
func softmaxRef(x []float32) (p, logp []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	p, logp = make([]float64, len(x)), make([]float64, len(x))
	for i, v := range x {
		logp[i] = float64(v) - m - math.Log(s)
		p[i] = math.Exp(logp[i])
	}
	return p, logp
}

func softmaxShapes() [][2]int {
	var sh [][2]int
	for cols := 1; cols <= 70; cols++ {
		sh = append(sh, [2]int{3, cols})
	}
	sh = append(sh, [2]int{2, 1000}, [2]int{197, 197})
	if !testing.Short() {
		sh = append(sh, [2]int{64, 2049})
	}
	return sh
}

func TestSoftmaxRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, sh := range softmaxShapes() {
			rows, cols := sh[0], sh[1]
			x := randSlice(r, rows*cols, -30, 30)
			gx := guardedFrom(x)
			p, lp := newGuarded(len(x)), newGuarded(len(x))
			SoftmaxRows(p.s(), gx.s(), cols)
			LogSoftmaxRows(lp.s(), gx.s(), cols)
			p.check(t, "SoftmaxRows dst")
			lp.check(t, "LogSoftmaxRows dst")
			gx.check(t, "x")
			for row := 0; row < rows; row++ {
				xr := x[row*cols : (row+1)*cols]
				wp, wlp := softmaxRef(xr)
				m := slices.Max(xr)
				for i := range wp {
					j := row*cols + i
					// x-m is rounded to float32 before exp: a relative
					// error of up to |x-m|·2^-24 that no float32 softmax avoids.
					rel := 1e-6 + math.Abs(float64(xr[i]-m))*0x1p-24
					if e := mixedErr(p.s()[j], wp[i], 1e-37, rel); e > 1 {
						t.Fatalf("SoftmaxRows %dx%d [%d,%d] = %v, want %v", rows, cols, row, i, p.s()[j], wp[i])
					}
					// x - lse, both rounded to float32.
					abs := 1e-6 + 4*0x1p-24*math.Abs(float64(m))
					if e := mixedErr(lp.s()[j], wlp[i], abs, 2e-7); e > 1 {
						t.Fatalf("LogSoftmaxRows %dx%d [%d,%d] = %v, want %v", rows, cols, row, i, lp.s()[j], wlp[i])
					}
				}
			}
			// In place gives the same bits.
			y := slices.Clone(x)
			SoftmaxRows(y, y, cols)
			if !slices.Equal(y, p.s()) {
				t.Errorf("SoftmaxRows %dx%d in place differs", rows, cols)
			}
			y = slices.Clone(x)
			LogSoftmaxRows(y, y, cols)
			if !slices.Equal(y, lp.s()) {
				t.Errorf("LogSoftmaxRows %dx%d in place differs", rows, cols)
			}
		}
	})
}

func TestSoftmaxSpecial(t *testing.T) {
	cases := []struct {
		x, want []float32
	}{
		{f32s(1000, 0), f32s(1, 0)},
		{f32s(0, 1000), f32s(0, 1)},
		{f32s(-1000, 0), f32s(0, 1)},
		{f32s(-1e30, -1e30), f32s(0.5, 0.5)},
		{f32s(-inf, 0, -inf), f32s(0, 1, 0)},
		{f32s(3e38, 3e38, 3e38, 3e38), f32s(0.25, 0.25, 0.25, 0.25)},
		{f32s(0, nan, 0), f32s(nan, nan, nan)},
		{f32s(inf, 0), f32s(nan, nan)},
		{f32s(-inf, -inf), f32s(nan, nan)},
	}
	forEachISA(t, func(t *testing.T) {
		for _, c := range cases {
			got := make([]float32, len(c.x))
			SoftmaxRows(got, c.x, len(c.x))
			for i := range got {
				if ulpErr(got[i], float64(c.want[i])) > 2 {
					t.Errorf("SoftmaxRows(%v) = %v, want %v", c.x, got, c.want)
					break
				}
			}
		}
		got := make([]float32, 2)
		LogSoftmaxRows(got, f32s(1000, 0), 2)
		if got[0] != 0 || got[1] != -1000 {
			t.Errorf("LogSoftmaxRows([1000 0]) = %v, want [0 -1000]", got)
		}
	})
}

func TestSoftmaxRowsBackward(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, sh := range softmaxShapes() {
			rows, cols := sh[0], sh[1]
			x, dy := randSlice(r, rows*cols, -5, 5), randSlice(r, rows*cols, -1, 1)
			y, ly := make([]float32, len(x)), make([]float32, len(x))
			SoftmaxRows(y, x, cols)
			LogSoftmaxRows(ly, x, cols)
			dx, ldx := newGuarded(len(x)), newGuarded(len(x))
			SoftmaxRowsBackward(dx.s(), dy, y, cols)
			LogSoftmaxRowsBackward(ldx.s(), dy, ly, cols)
			dx.check(t, "SoftmaxRowsBackward dx")
			ldx.check(t, "LogSoftmaxRowsBackward dx")
			for row := 0; row < rows; row++ {
				lo := row * cols
				var c, s float64
				for i := lo; i < lo+cols; i++ {
					c += float64(dy[i]) * float64(y[i])
					s += float64(dy[i])
				}
				for i := lo; i < lo+cols; i++ {
					want := float64(y[i]) * (float64(dy[i]) - c)
					if e := mixedErr(dx.s()[i], want, 1e-7, 1e-6); e > 1 {
						t.Fatalf("SoftmaxRowsBackward %dx%d [%d] = %v, want %v", rows, cols, i, dx.s()[i], want)
					}
					lwant := float64(dy[i]) - math.Exp(float64(ly[i]))*s
					if e := mixedErr(ldx.s()[i], lwant, 1e-6*(1+math.Abs(s)), 1e-6); e > 1 {
						t.Fatalf("LogSoftmaxRowsBackward %dx%d [%d] = %v, want %v", rows, cols, i, ldx.s()[i], lwant)
					}
				}
			}
		}
	})
}

// layerNormRef computes layer norm and its gradient in float64.
//
// shift[r] bounds the error of row r's normalised values that comes from
// storing the mean as float32 (|mean|·2^-24·rstd), which the API implies.
func layerNormRef(x, gamma, beta, dy []float32, cols int) (y, dx, dgamma, dbeta, shift []float64) {
	rows := len(x) / cols
	y, dx = make([]float64, len(x)), make([]float64, len(x))
	shift = make([]float64, rows)
	dgamma, dbeta = make([]float64, cols), make([]float64, cols)
	const eps = 1e-5
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		var m, v float64
		for _, e := range xr {
			m += float64(e)
		}
		m /= float64(cols)
		for _, e := range xr {
			v += (float64(e) - m) * (float64(e) - m)
		}
		rs := 1 / math.Sqrt(v/float64(cols)+eps)
		shift[r] = math.Abs(m) * 0x1p-24 * rs
		xh := make([]float64, cols)
		var sg, sgx float64
		for i, e := range xr {
			xh[i] = (float64(e) - m) * rs
			g, b := 1.0, 0.0
			if gamma != nil {
				g = float64(gamma[i])
			}
			if beta != nil {
				b = float64(beta[i])
			}
			y[r*cols+i] = xh[i]*g + b
			gd := float64(dy[r*cols+i]) * g
			sg += gd
			sgx += gd * xh[i]
			dgamma[i] += float64(dy[r*cols+i]) * xh[i]
			dbeta[i] += float64(dy[r*cols+i])
		}
		for i := range xr {
			g := 1.0
			if gamma != nil {
				g = float64(gamma[i])
			}
			gd := float64(dy[r*cols+i]) * g
			dx[r*cols+i] = rs * (gd - sg/float64(cols) - xh[i]*sgx/float64(cols))
		}
	}
	return y, dx, dgamma, dbeta, shift
}

func TestLayerNormRows(t *testing.T) {
	shapes := [][2]int{{1, 1}, {3, 2}, {2, 7}, {4, 16}, {3, 33}, {5, 64}, {2, 70}, {50, 768}, {3, 1000}}
	if !testing.Short() {
		shapes = append(shapes, [2]int{197, 768})
	}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, sh := range shapes {
			for _, affine := range []bool{true, false} {
				for _, offset := range []float64{0, 1000} {
					name := fmt.Sprintf("%dx%d affine=%v offset=%v", sh[0], sh[1], affine, offset)
					rows, cols := sh[0], sh[1]
					x := randSlice(r, rows*cols, offset-2, offset+2)
					dy := randSlice(r, rows*cols, -1, 1)
					var gamma, beta []float32
					if affine {
						gamma, beta = randSlice(r, cols, 0.5, 1.5), randSlice(r, cols, -1, 1)
					}
					wy, wdx, wdg, wdb, shift := layerNormRef(x, gamma, beta, dy, cols)
					maxShift := slices.Max(shift)

					dst, mean, rstd := newGuarded(len(x)), newGuarded(rows), newGuarded(rows)
					LayerNormRows(dst.s(), mean.s(), rstd.s(), x, gamma, beta, cols, 1e-5)
					dst.check(t, name+" dst")
					mean.check(t, name+" mean")
					rstd.check(t, name+" rstd")
					for i := range x {
						// The normalised value carries the relative error of
						// rstd and the absolute error of x-mean.
						if e := mixedErr(dst.s()[i], wy[i], 2e-6+2*shift[i/cols], 2e-6); e > 1 {
							t.Fatalf("LayerNormRows %s [%d] = %v, want %v", name, i, dst.s()[i], wy[i])
						}
					}

					dx, dgamma, dbeta := newGuarded(len(x)), newGuarded(cols), newGuarded(cols)
					for i := range dgamma.s() {
						dgamma.s()[i], dbeta.s()[i] = 1, -1 // checks accumulation
					}
					LayerNormRowsBackward(dx.s(), dgamma.s(), dbeta.s(), dy, x, mean.s(), rstd.s(), gamma, cols)
					dx.check(t, name+" dx")
					dgamma.check(t, name+" dgamma")
					dbeta.check(t, name+" dbeta")
					for i := range x {
						if e := mixedErr(dx.s()[i], wdx[i], 2e-5+4*shift[i/cols]*float64(rstd.s()[i/cols]), 2e-5); e > 1 {
							t.Fatalf("LayerNormRowsBackward %s dx[%d] = %v, want %v", name, i, dx.s()[i], wdx[i])
						}
					}
					for i := 0; i < cols; i++ {
						tol := (1e-5 + 2*maxShift) * float64(rows)
						if e := mixedErr(dgamma.s()[i], 1+wdg[i], tol, 1e-5); e > 1 {
							t.Fatalf("LayerNormRowsBackward %s dgamma[%d] = %v, want %v", name, i, dgamma.s()[i], 1+wdg[i])
						}
						if e := mixedErr(dbeta.s()[i], wdb[i]-1, tol, 1e-5); e > 1 {
							t.Fatalf("LayerNormRowsBackward %s dbeta[%d] = %v, want %v", name, i, dbeta.s()[i], wdb[i]-1)
						}
					}
					// nil dgamma and dbeta, dx in place of dy.
					dx2 := slices.Clone(dy)
					LayerNormRowsBackward(dx2, nil, nil, dx2, x, mean.s(), rstd.s(), gamma, cols)
					if !slices.Equal(dx2, dx.s()) {
						t.Errorf("LayerNormRowsBackward %s: dx in place of dy with nil dgamma differs", name)
					}
				}
			}
		}
	})
}

// TestLayerNormParallelDeterministic checks that layer norm and its gradient
// give the same bits run to run and for any thread count.
func TestLayerNormParallelDeterministic(t *testing.T) {
	rows, cols := 256, 768
	r := rand.New(rand.NewPCG(15, 16))
	x, dy := randSlice(r, rows*cols, -3, 3), randSlice(r, rows*cols, -1, 1)
	gamma, beta := randSlice(r, cols, 0.5, 1.5), randSlice(r, cols, -1, 1)
	run := func() (y, dx, dg, db []float32) {
		y, dx = make([]float32, len(x)), make([]float32, len(x))
		dg, db = make([]float32, cols), make([]float32, cols)
		mean, rstd := make([]float32, rows), make([]float32, rows)
		LayerNormRows(y, mean, rstd, x, gamma, beta, cols, 1e-5)
		LayerNormRowsBackward(dx, dg, db, dy, x, mean, rstd, gamma, cols)
		return y, dx, dg, db
	}
	prev := Threads()
	defer SetThreads(prev)
	forEachISA(t, func(t *testing.T) {
		SetThreads(1)
		y1, dx1, dg1, db1 := run()
		for _, th := range []int{1, 2, 3, 5} {
			SetThreads(th)
			y2, dx2, dg2, db2 := run()
			if !bitsEqual(y1, y2) || !bitsEqual(dx1, dx2) || !bitsEqual(dg1, dg2) || !bitsEqual(db1, db2) {
				t.Errorf("threads=%d: the result differs from one thread's", th)
			}
		}
	})
}

func TestAddBiasColumnSums(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, cols := range []int{1, 7, 16, 33, 768} {
			rows := 5
			x, bias := randSlice(r, rows*cols, -1, 1), randSlice(r, cols, -1, 1)
			dst := newGuarded(len(x))
			AddBias(dst.s(), x, bias)
			dst.check(t, "AddBias dst")
			for i := range x {
				if want := x[i] + bias[i%cols]; dst.s()[i] != want {
					t.Fatalf("AddBias cols=%d [%d] = %v, want %v", cols, i, dst.s()[i], want)
				}
			}
			sums := guardedFrom(randSlice(r, cols, -1, 1))
			want := make([]float64, cols)
			for j := range want {
				want[j] = float64(sums.s()[j])
			}
			for i, v := range x {
				want[i%cols] += float64(v)
			}
			AddColumnSums(sums.s(), x)
			sums.check(t, "AddColumnSums dst")
			for j := range want {
				if e := mixedErr(sums.s()[j], want[j], 1e-6, 1e-6); e > 1 {
					t.Fatalf("AddColumnSums cols=%d [%d] = %v, want %v", cols, j, sums.s()[j], want[j])
				}
			}
		}
	})
}

func TestTanhSigmoidBackward(t *testing.T) {
	x := f32s(-20, -3, -0.5, 0, 1e-8, 0.5, 3, 20)
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	dy := f32s(1, 2, 3, 4, 5, 6, 7, 8)
	Tanh(y, x)
	TanhBackward(dx, dy, y)
	for i, v := range x {
		th := math.Tanh(float64(v))
		if ulpErr(y[i], th) > 1 {
			t.Errorf("Tanh(%v) = %v, want %v", v, y[i], th)
		}
		// The gradient is computed from the float32 output, as autograd does.
		yf := float64(y[i])
		if want := float64(dy[i]) * (1 - yf*yf); mixedErr(dx[i], want, 1e-7, 1e-6) > 1 {
			t.Errorf("TanhBackward at %v = %v, want %v", v, dx[i], want)
		}
	}
	Sigmoid(y, x)
	SigmoidBackward(dx, dy, y)
	for i, v := range x {
		s := float64(y[i])
		if math.Abs(s-sigmoidRef(float64(v))) > 1e-7 {
			t.Errorf("Sigmoid(%v) = %v, want %v", v, y[i], sigmoidRef(float64(v)))
		}
		if want := float64(dy[i]) * s * (1 - s); mixedErr(dx[i], want, 1e-7, 1e-6) > 1 {
			t.Errorf("SigmoidBackward at %v = %v, want %v", v, dx[i], want)
		}
	}
}

// TestExpDense checks Exp on every step-th float32 in [-104, 89] against
// the correctly rounded result.
func TestExpDense(t *testing.T) {
	step := uint32(997)
	if testing.Short() {
		step = 9973
	}
	var x []float32
	for b := math.Float32bits(-104); b >= 1<<31+step; b -= step {
		x = append(x, math.Float32frombits(b))
	}
	for b := uint32(0); math.Float32frombits(b) < 89; b += step {
		x = append(x, math.Float32frombits(b))
	}
	forEachISA(t, func(t *testing.T) {
		got := make([]float32, len(x))
		Exp(got, x)
		worst, at := 0.0, 0
		for i, v := range x {
			if e := ulpErr(got[i], math.Exp(float64(v))); e > worst {
				worst, at = e, i
			}
		}
		if worst > 1 {
			t.Errorf("Exp(%v) = %v, want %v: %.2f ulp", x[at], got[at], math.Exp(float64(x[at])), worst)
		}
		t.Logf("max error %.3f ulp over %d inputs", worst, len(x))
	})
}

func TestEltwisePanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"Add", func() { Add(make([]float32, 3), make([]float32, 3), make([]float32, 2)) }},
		{"Exp", func() { Exp(make([]float32, 3), make([]float32, 4)) }},
		{"SoftmaxRows", func() { SoftmaxRows(make([]float32, 6), make([]float32, 6), 4) }},
		{"LayerNormRows", func() {
			LayerNormRows(make([]float32, 6), make([]float32, 2), make([]float32, 3), make([]float32, 6), nil, nil, 3, 1e-5)
		}},
		{"AddBias", func() { AddBias(make([]float32, 6), make([]float32, 6), make([]float32, 4)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("%s did not panic", c.name)
				}
				if msg := fmt.Sprint(r); len(msg) < 9 || msg[:9] != "kernels: " {
					t.Errorf("panic message %q lacks the kernels: prefix", msg)
				}
			}()
			c.f()
		})
	}
}

func TestSGDMomentum(t *testing.T) {
	const lr, wd, mom, damp = 0.0123, 5e-4, 0.9, 0.75
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range append(testLengths(), 1<<17+5) {
			for _, nesterov := range []bool{false, true} {
				w, grad, buf := randSlice(r, n, -2, 2), randSlice(r, n, -1, 1), randSlice(r, n, -0.5, 0.5)
				gw, gg, gb := guardedFrom(w), guardedFrom(grad), guardedFrom(buf)
				SGDMomentum(gw.s(), gg.s(), gb.s(), lr, wd, mom, damp, nesterov)
				name := fmt.Sprintf("n=%d nesterov=%v", n, nesterov)
				gw.check(t, name+" w")
				gb.check(t, name+" buf")
				gg.check(t, name+" grad")
				if !slices.Equal(gg.s(), grad) {
					t.Fatalf("%s: grad changed", name)
				}
				for i := range w {
					// The update with every operation rounded on its own.
					d := grad[i] + float32(wd*w[i])
					b := float32(mom*buf[i]) + float32(damp*d)
					if nesterov {
						d += float32(mom * b)
					} else {
						d = b
					}
					wantW := w[i] - float32(lr*d)
					if math.Float32bits(gb.s()[i]) != math.Float32bits(b) || math.Float32bits(gw.s()[i]) != math.Float32bits(wantW) {
						t.Fatalf("%s: element %d: w %v buf %v, want %v %v", name, i, gw.s()[i], gb.s()[i], wantW, b)
					}
				}
			}
		}
	})
}

// TestSmallKernelsDoNotAllocate checks that kernels on slices below their
// parallel grain run without allocating.
func TestSmallKernelsDoNotAllocate(t *testing.T) {
	x, y, z := make([]float32, 64), make([]float32, 64), make([]float32, 64)
	for name, f := range map[string]func(){
		"Axpy":        func() { Axpy(2, x, y) },
		"Scale":       func() { Scale(y, 2, x) },
		"AddConst":    func() { AddConst(y, 2, x) },
		"Affine":      func() { Affine(y, 2, x, 1) },
		"AffineReLU":  func() { AffineReLU(y, 2, x, 1) },
		"AddReLU":     func() { AddReLU(z, x, y) },
		"Add":         func() { Add(z, x, y) },
		"ReLU":        func() { ReLU(y, x) },
		"Exp":         func() { Exp(y, x) },
		"SGDMomentum": func() { SGDMomentum(x, y, z, 0.1, 0, 0.9, 1, true) },
	} {
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("%s allocates %v times per call on 64 elements", name, n)
		}
	}
}

// TestAddRows checks addRows bit for bit against one Axpy of alpha 1 per
// row, touching nothing between or after the rows.
func TestAddRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 3, 7, 8, 9, 16, 31, 32, 33, 40, 100} {
			for _, rows := range []int{0, 1, 2, 5} {
				ldd, ldx := n+r.IntN(5), n+r.IntN(5)
				size := func(ld int) int { return max(0, (rows-1)*ld+n) }
				x, d0 := randSlice(r, size(ldx), -3, 3), randSlice(r, size(ldd), -3, 3)
				dst := guardedFrom(d0)
				addRows(dst.s(), ldd, x, ldx, rows, n)
				dst.check(t, "addRows dst")
				want := append([]float32(nil), d0...)
				for i := 0; i < rows; i++ {
					axpyGeneric(1, x[i*ldx:i*ldx+n], want[i*ldd:i*ldd+n])
				}
				for i := range want {
					if math.Float32bits(dst.s()[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d rows=%d: dst[%d] = %v, want %v", n, rows, i, dst.s()[i], want[i])
					}
				}
			}
		}
	})
}

// TestBatchNormBackwardDx checks the kernel bit for bit against the Go line
// it documents, on every path and length.
func TestBatchNormBackwardDx(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range append(testLengths(), 1<<16+3) {
			g, x, d0 := randSlice(r, n, -2, 2), randSlice(r, n, -3, 3), randSlice(r, n, -1, 1)
			const s, mg, mu, rs, mgx = 0.7, 0.011, -0.25, 1.9, -0.043
			dx, gg, gx := guardedFrom(d0), guardedFrom(g), guardedFrom(x)
			BatchNormBackwardDx(dx.s(), gg.s(), gx.s(), s, mg, mu, rs, mgx)
			dx.check(t, "dx")
			gg.check(t, "g")
			gx.check(t, "x")
			for i := range d0 {
				// The conversions round where the kernel does; without
				// them arm64 fuses the products into the subtraction.
				xh := float32(float32((x[i]-float32(mu))*float32(rs)) * float32(mgx))
				want := d0[i] + float32(float32(s)*(g[i]-float32(mg)-xh))
				if math.Float32bits(dx.s()[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d: dx[%d] = %v, want %v", n, i, dx.s()[i], want)
				}
			}
		}
	})
}

// TestAffineReLUFused checks the one-pass AffineReLU, and the epilogue's
// affine+add+ReLU primitive, bit for bit against Affine, Add and ReLU run
// one after the other, zeros of both signs and NaN included.
func TestAffineReLUFused(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range testLengths() {
			x, y := randSlice(r, n, -3, 3), randSlice(r, n, -3, 3)
			for i := 0; i < n; i += 7 {
				x[i] = []float32{0, float32(math.Copysign(0, -1)), float32(nan), 0.4 / 0.7}[i/7%4]
			}
			const alpha, beta = 0.7, -0.4
			want := make([]float32, n)
			Affine(want, alpha, x, beta)
			ReLU(want, want)
			got := newGuarded(n)
			AffineReLU(got.s(), alpha, x, beta)
			got.check(t, "AffineReLU dst")
			for i := range want {
				if math.Float32bits(got.s()[i]) != math.Float32bits(want[i]) {
					t.Fatalf("AffineReLU (n=%d) [%d] = %v, want %v", n, i, got.s()[i], want[i])
				}
			}
			Affine(want, alpha, x, beta)
			Add(want, want, y)
			ReLU(want, want)
			elt().affineAddReLU(got.s(), alpha, x, beta, y)
			got.check(t, "affineAddReLU dst")
			for i := range want {
				if math.Float32bits(got.s()[i]) != math.Float32bits(want[i]) {
					t.Fatalf("affineAddReLU (n=%d) [%d] = %v, want %v", n, i, got.s()[i], want[i])
				}
			}
		}
	})
}
