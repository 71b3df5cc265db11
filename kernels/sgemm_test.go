package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// guard is the number of sentinel floats on each side of a test matrix.
const guard = 19

// sentinel marks the floats a kernel must not write.
var sentinel = float32(math.Inf(-1))

// matrix is a row-major rows×cols matrix with row stride ld inside a buffer
// padded with guard sentinels on both sides; the gaps between rows hold
// sentinels too.
type matrix struct {
	rows, cols, ld int
	buf            []float32
}

func newMatrix(rng *rand.Rand, rows, cols, ld int) *matrix {
	size := 0
	if rows > 0 && cols > 0 {
		size = (rows-1)*ld + cols
	}
	x := &matrix{rows: rows, cols: cols, ld: ld, buf: make([]float32, size+2*guard)}
	for i := range x.buf {
		x.buf[i] = sentinel
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x.buf[guard+i*ld+j] = float32(rng.NormFloat64())
		}
	}
	return x
}

// data returns the matrix without its leading guard.
func (x *matrix) data() []float32 { return x.buf[guard : len(x.buf)-guard] }

func (x *matrix) inside(idx int) bool {
	idx -= guard
	if idx < 0 || x.rows == 0 || x.cols == 0 || idx >= (x.rows-1)*x.ld+x.cols {
		return false
	}
	return idx%x.ld < x.cols
}

// checkGuards reports every float outside the matrix that is no longer a sentinel.
func (x *matrix) checkGuards(t *testing.T, name string) {
	t.Helper()
	bad := 0
	for i, v := range x.buf {
		if !x.inside(i) && v != sentinel {
			if bad < 3 {
				t.Errorf("%s: buf[%d] outside the matrix was written: %v", name, i-guard, v)
			}
			bad++
		}
	}
}

func (x *matrix) fill(v float32) {
	for i := 0; i < x.rows; i++ {
		for j := 0; j < x.cols; j++ {
			x.buf[guard+i*x.ld+j] = v
		}
	}
}

func (x *matrix) clone() *matrix {
	y := *x
	y.buf = slices.Clone(x.buf)
	return &y
}

func (x *matrix) abs() *matrix {
	y := x.clone()
	for i := range y.buf {
		if x.inside(i) {
			y.buf[i] = float32(math.Abs(float64(y.buf[i])))
		}
	}
	return y
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// sgemmCase is one product C = alpha*op(A)*op(B) + beta*C.
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra row stride of every operand
}

func (tc sgemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/%dx%dx%d/a%g/b%g/pad%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// operands returns random guarded A, B and C for tc.
func (tc sgemmCase) operands(rng *rand.Rand) (a, b, c *matrix) {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	a = newMatrix(rng, ar, ac, max(1, ac+tc.pad))
	b = newMatrix(rng, br, bc, max(1, bc+tc.pad))
	c = newMatrix(rng, tc.m, tc.n, max(1, tc.n+tc.pad))
	return a, b, c
}

// want computes the expected C with gonum, and a bound on the rounding error
// of each element: a few ulps per term of Σ|alpha·a·b| + |beta·c|.
func (tc sgemmCase) want(a, b, c *matrix) (want, tol *matrix) {
	if tc.m == 0 || tc.n == 0 || tc.k == 0 {
		// gonum wants non-empty operands even for empty products.
		want, tol = c.clone(), c.clone()
		for i := range want.buf {
			if want.inside(i) {
				want.buf[i] *= tc.beta
				if tc.beta == 0 {
					want.buf[i] = 0
				}
				tol.buf[i] = 0
			}
		}
		return want, tol
	}
	impl := gonum.Implementation{}
	want = c.clone()
	impl.Sgemm(trans(tc.transA), trans(tc.transB), tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, want.data(), want.ld)
	tol = c.abs()
	if tc.beta == 0 {
		tol.fill(0)
	}
	impl.Sgemm(trans(tc.transA), trans(tc.transB), tc.m, tc.n, tc.k, float32(math.Abs(float64(tc.alpha))), a.abs().data(), a.ld, b.abs().data(), b.ld, float32(math.Abs(float64(tc.beta))), tol.data(), tol.ld)
	eps := float32(4*(tc.k+2)) * 0x1p-24
	for i := range tol.buf {
		if tol.inside(i) {
			tol.buf[i] = tol.buf[i]*eps + 1e-30
		}
	}
	return want, tol
}

// compare checks got against want within tol and reports the worst element.
func compare(t *testing.T, got, want, tol *matrix) {
	t.Helper()
	bad, worst, wi := 0, 0.0, 0
	for i := range got.buf {
		if !got.inside(i) {
			continue
		}
		g, w := got.buf[i], want.buf[i]
		d := math.Abs(float64(g) - float64(w))
		if !(d <= float64(tol.buf[i])) {
			bad++
			if r := d / float64(tol.buf[i]); !(r <= worst) {
				worst, wi = r, i
			}
		}
	}
	if bad > 0 {
		i := wi - guard
		t.Errorf("%d elements off; worst C[%d][%d]: got %v, want %v (tolerance %v)", bad, i/got.ld, i%got.ld, got.buf[wi], want.buf[wi], tol.buf[wi])
	}
	got.checkGuards(t, "C")
}

// eachISA runs f under every ISA this CPU and build support.
func eachISA(t *testing.T, f func(t *testing.T)) {
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

// eachSplit runs f with the static splits of C among threads and with the
// queues (stripQueue, rowQueue) taking every column or row split, however
// small the product.
func eachSplit(t *testing.T, f func(t *testing.T)) {
	for _, queue := range []bool{false, true} {
		name := "static"
		if queue {
			name = "queue"
		}
		t.Run(name, func(t *testing.T) {
			on, least := stripQueues, queueMinWork
			stripQueues, queueMinWork = queue, 0
			defer func() { stripQueues, queueMinWork = on, least }()
			f(t)
		})
	}
}

// withThreads runs f with n kernel threads.
func withThreads(n int, f func()) {
	prev := Threads()
	SetThreads(n)
	defer SetThreads(prev)
	f()
}

// blockings are the default sizes and two that make every loop of the
// driver run several times on small matrices.
var blockings = []Blocking{{}, {KC: 19, MC: 25}, {KC: 23, MC: 13}}

// shapes cover each awkward size (1, 7, 17, 63, 65, 255, 257, 1000) in each
// position while keeping the products small.
var shapes = [][3]int{
	{1, 1, 1}, {1, 7, 17}, {7, 17, 1}, {17, 1, 7},
	{12, 32, 8}, {24, 64, 300}, {6, 16, 4},
	{63, 65, 255}, {65, 255, 63}, {255, 63, 65},
	{257, 17, 7}, {7, 257, 17}, {17, 7, 257},
	{1000, 7, 17}, {7, 1000, 17}, {17, 7, 1000},
	{50, 96, 40}, {13, 33, 5},
}

func TestSgemm(t *testing.T) {
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {1.5, -1}}
	eachISA(t, func(t *testing.T) {
		eachSplit(t, func(t *testing.T) {
			for _, blk := range blockings {
				prev := SetSgemmBlocking(blk)
				rng := rand.New(rand.NewPCG(1, 2))
				idx := 0
				for _, s := range shapes {
					for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
						idx++
						ab := scalars[idx%len(scalars)]
						tc := sgemmCase{transA: tr[0], transB: tr[1], m: s[0], n: s[1], k: s[2], alpha: ab[0], beta: ab[1], pad: idx % 3 * 2}
						t.Run(fmt.Sprintf("KC%d/MC%d/%v", blk.KC, blk.MC, tc), func(t *testing.T) {
							a, b, c := tc.operands(rng)
							want, tol := tc.want(a, b, c)
							a0, b0 := a.clone(), b.clone()
							withThreads(1+idx%3, func() {
								Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, c.data(), c.ld)
							})
							compare(t, c, want, tol)
							if !slices.Equal(a.buf, a0.buf) || !slices.Equal(b.buf, b0.buf) {
								t.Errorf("A or B was written")
							}
						})
					}
				}
				SetSgemmBlocking(prev)
			}
		})
	})
}

// TestSgemmScalars checks the special values of alpha and beta: beta = 0
// must not read C (NaN there must not reach the result), alpha = 0 must not
// read A or B.
func TestSgemmScalars(t *testing.T) {
	nan := float32(math.NaN())
	eachISA(t, func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			alpha, beta float32
			nanC, nanAB bool
		}{
			{"beta0/NaN-C", 1, 0, true, false},
			{"beta-0/NaN-C", 2, float32(math.Copysign(0, -1)), true, false},
			{"alpha0/NaN-AB", 0, 0.5, false, true},
			{"alpha0/beta0/NaN-everything", 0, 0, true, true},
			{"beta1", 1, 1, false, false},
		} {
			for _, s := range [][3]int{{13, 45, 29}, {50, 96, 300}} {
				t.Run(fmt.Sprintf("%s/%dx%dx%d", tc.name, s[0], s[1], s[2]), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(3, 4))
					sc := sgemmCase{m: s[0], n: s[1], k: s[2], alpha: tc.alpha, beta: tc.beta, pad: 1}
					a, b, c := sc.operands(rng)
					if tc.nanC {
						c.fill(0) // what beta*C must contribute
					}
					var want, tol *matrix
					if tc.nanAB {
						// alpha = 0: C = beta*C exactly, whatever A and B hold.
						a.fill(nan)
						b.fill(nan)
						want, tol = c.clone(), c.clone()
						for i := range want.buf {
							if want.inside(i) {
								want.buf[i] *= tc.beta
								tol.buf[i] = 0
							}
						}
					} else {
						want, tol = sc.want(a, b, c)
					}
					if tc.nanC {
						c.fill(nan)
					}
					Sgemm(false, false, sc.m, sc.n, sc.k, sc.alpha, a.data(), a.ld, b.data(), b.ld, sc.beta, c.data(), c.ld)
					compare(t, c, want, tol)
				})
			}
		}
	})
}

func TestSgemmPacked(t *testing.T) {
	eachISA(t, func(t *testing.T) {
		for _, blk := range blockings {
			prev := SetSgemmBlocking(blk)
			rng := rand.New(rand.NewPCG(5, 6))
			for i, s := range shapes {
				for _, tr := range [][2]bool{{false, false}, {true, true}, {i%2 == 0, i%2 == 1}} {
					tc := sgemmCase{transA: tr[0], transB: tr[1], m: s[0], n: s[1], k: s[2], alpha: 0.75, beta: float32(i % 2), pad: i % 2}
					t.Run(fmt.Sprintf("KC%d/MC%d/%v", blk.KC, blk.MC, tc), func(t *testing.T) {
						a, b, c := tc.operands(rng)
						want, tol := tc.want(a, b, c)
						pb := PackB(tc.transB, tc.k, tc.n, b.data(), b.ld)
						if pb.K() != tc.k || pb.N() != tc.n {
							t.Fatalf("PackB dims: got %d×%d, want %d×%d", pb.K(), pb.N(), tc.k, tc.n)
						}
						withThreads(1+i%3, func() {
							SgemmPacked(tc.transA, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, c.data(), c.ld)
						})
						compare(t, c, want, tol)
					})
				}
			}
			SetSgemmBlocking(prev)
		}
	})
}

// TestSgemmPackedAcrossISAs checks that a PackedB built under one ISA serves every other.
func TestSgemmPackedAcrossISAs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tc := sgemmCase{m: 37, n: 75, k: 41, alpha: 1, beta: 0}
	a, b, c := tc.operands(rng)
	want, tol := tc.want(a, b, c)
	for _, packISA := range Supported() {
		prev, _ := Use(packISA)
		pb := PackB(false, tc.k, tc.n, b.data(), b.ld)
		Use(prev)
		eachISA(t, func(t *testing.T) {
			got := c.clone()
			SgemmPacked(false, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, got.data(), got.ld)
			compare(t, got, want, tol)
		})
	}
}

// TestSgemmParallelDeterministic checks that results are bit-identical run to
// run and across thread counts, on the parallel paths (it runs under -race).
func TestSgemmParallelDeterministic(t *testing.T) {
	shapes := [][3]int{{150, 200, 70}, {13, 300, 33}, {301, 40, 90}}
	if testing.Short() {
		shapes = shapes[1:]
	}
	eachISA(t, func(t *testing.T) {
		eachSplit(t, func(t *testing.T) {
			for _, s := range shapes {
				for _, packed := range []bool{false, true} {
					t.Run(fmt.Sprintf("%dx%dx%d/packed=%v", s[0], s[1], s[2], packed), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(9, 10))
						tc := sgemmCase{transA: true, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5}
						a, b, c := tc.operands(rng)
						run := func(threads int) []float32 {
							got := c.clone()
							withThreads(threads, func() {
								if packed {
									pb := PackB(false, tc.k, tc.n, b.data(), b.ld)
									SgemmPacked(true, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, got.data(), got.ld)
								} else {
									Sgemm(true, false, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, got.data(), got.ld)
								}
							})
							return got.buf
						}
						ref := run(1)
						for _, threads := range []int{1, 2, 3, 2} {
							if got := run(threads); !bitsEqual(got, ref) {
								t.Errorf("threads=%d: result differs from the 1-thread result", threads)
							}
						}
					})
				}
			}
		})
	})
}

// TestSgemmSameBitsAcrossISAs checks that every ISA and thread count gives
// the same bits, with a k of several KC blocks and a partial one, every
// transposition, alpha, beta and packed B, and operands with NaN,
// infinities and subnormals: every micro-kernel makes each element one
// chain of fused multiply-adds per block, and KC is fixed. (A NaN result
// is NaN on every path, but not always the same NaN: see firstDiff.)
func TestSgemmSameBitsAcrossISAs(t *testing.T) {
	cases := []struct {
		sgemmCase
		special bool // operands with NaN, infinities, subnormals
	}{
		{sgemmCase{m: 37, n: 75, k: 2*DefaultKC + 41, alpha: 1, beta: 0}, false},
		{sgemmCase{transA: true, m: 13, n: 33, k: DefaultKC + 1, alpha: 0.7, beta: -0.3}, false},
		{sgemmCase{transB: true, m: 50, n: 40, k: 3 * DefaultKC, alpha: 1, beta: 1}, false},
		{sgemmCase{transA: true, transB: true, m: 25, n: 70, k: 300, alpha: -2, beta: 0.5}, false},
		{sgemmCase{m: 7, n: 5, k: 9, alpha: 1, beta: 0.25}, false},
		{sgemmCase{m: 29, n: 45, k: DefaultKC + 7, alpha: 0.7, beta: -0.3}, true},
		{sgemmCase{transA: true, m: 12, n: 13, k: 40, alpha: 1, beta: 0}, true},
	}
	for _, cs := range cases {
		tc := cs.sgemmCase
		name := fmt.Sprintf("%v/%v/%dx%dx%d/alpha=%g/beta=%g/special=%v", tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, cs.special)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			a, b, c := tc.operands(rng)
			if cs.special {
				// Subnormals and zeros throughout; a NaN and infinities
				// in a few places, so most results stay finite.
				for _, x := range []*matrix{a, b, c} {
					sprinkle(rng, x.data(), float32(math.Copysign(0, -1)), 0, 1e-40, -3e-39, 1e-20, -2e-21)
					x.data()[rng.IntN(len(x.data()))] = float32(math.NaN())
					x.data()[rng.IntN(len(x.data()))] = float32(math.Inf(1))
					x.data()[rng.IntN(len(x.data()))] = -math.MaxFloat32
				}
			}
			var ref []float32
			var refName string
			for _, isa := range Supported() {
				for _, threads := range []int{1, 3} {
					for _, packed := range []bool{false, true} {
						if packed && tc.transB {
							continue // PackB packs op(B) the same way; one run is enough
						}
						got := c.clone()
						prev, _ := Use(isa)
						withThreads(threads, func() {
							if packed {
								pb := PackB(tc.transB, tc.k, tc.n, b.data(), b.ld)
								SgemmPacked(tc.transA, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, got.data(), got.ld)
							} else {
								Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, got.data(), got.ld)
							}
						})
						Use(prev)
						run := fmt.Sprintf("%v/threads=%d/packed=%v", isa, threads, packed)
						if ref == nil {
							ref, refName = got.buf, run
							continue
						}
						if i := firstDiff(got.buf, ref); i >= 0 {
							t.Errorf("%s: element %d is %g (%#08x), %s gives %g (%#08x)", run, i, got.buf[i], math.Float32bits(got.buf[i]), refName, ref[i], math.Float32bits(ref[i]))
						}
					}
				}
			}
		})
	}
}

func bitsEqual(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}

// TestSgemmRaceConcurrent runs products from several goroutines at once, and
// from inside ParallelFor chunks, sharing one PackedB.
func TestSgemmRaceConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tc := sgemmCase{m: 70, n: 90, k: 50, alpha: 1, beta: 0}
	a, b, c := tc.operands(rng)
	want, tol := tc.want(a, b, c)
	pb := PackB(false, tc.k, tc.n, b.data(), b.ld)
	const workers = 4
	got := make([]*matrix, workers)
	withThreads(2, func() {
		ParallelFor(workers, 1, func(lo, hi int) {
			for w := lo; w < hi; w++ {
				got[w] = c.clone()
				if w%2 == 0 {
					SgemmPacked(false, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, got[w].data(), got[w].ld)
				} else {
					Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, got[w].data(), got[w].ld)
				}
			}
		})
	})
	for w := range got {
		compare(t, got[w], want, tol)
	}
}

func TestSgemmPanics(t *testing.T) {
	buf := make([]float32, 100)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }, "negative dimension"},
		{"short A", func() { Sgemm(false, false, 5, 2, 5, 1, make([]float32, 24), 5, buf, 2, 0, make([]float32, 10), 2) }, "len(A)=24, need 25"},
		{"short B", func() { Sgemm(false, true, 2, 5, 5, 1, buf, 5, make([]float32, 7), 5, 0, make([]float32, 10), 5) }, "len(B)=7"},
		{"short C", func() { Sgemm(false, false, 3, 3, 1, 1, buf, 1, buf, 3, 0, make([]float32, 8), 3) }, "len(C)=8"},
		{"small lda", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, make([]float32, 4), 2) }, "ldA=2 < max(1, 3)"},
		{"small ldb transposed", func() { Sgemm(false, true, 2, 2, 3, 1, buf, 3, buf, 2, 0, make([]float32, 4), 2) }, "ldB=2 < max(1, 3)"},
		{"small ldc", func() { Sgemm(false, false, 2, 4, 1, 1, buf, 1, buf, 4, 0, make([]float32, 8), 3) }, "ldC=3"},
		{"C overlaps A", func() { Sgemm(false, false, 4, 4, 4, 1, buf, 4, make([]float32, 16), 4, 0, buf[8:], 4) }, "C overlaps A"},
		{"C overlaps B", func() { Sgemm(false, false, 4, 4, 4, 1, make([]float32, 16), 4, buf, 4, 0, buf[15:], 4) }, "C overlaps B"},
		{"PackB negative", func() { PackB(false, -1, 2, buf, 2) }, "kernels: PackB: negative"},
		{"PackB short", func() { PackB(true, 10, 20, buf, 10) }, "kernels: PackB: len(B)=100, need 200"},
		{"SgemmPacked nil", func() { SgemmPacked(false, 1, 1, buf, 1, nil, 0, buf, 1) }, "nil PackedB"},
		{"SgemmPacked short C", func() {
			SgemmPacked(false, 2, 1, buf, 3, PackB(false, 3, 4, buf, 4), 0, make([]float32, 7), 4)
		}, "kernels: SgemmPacked: len(C)=7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic: got %v, want a kernels: message containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// FuzzSgemm compares every path with the pure-Go reference on fuzzed shapes,
// transposes and scalars.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint8(3), false, true, float32(1), float32(0), uint64(1))
	f.Add(uint8(50), uint8(64), uint8(33), true, false, float32(-2), float32(0.5), uint64(2))
	f.Add(uint8(13), uint8(1), uint8(200), true, true, float32(0.25), float32(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k uint8, transA, transB bool, alpha, beta float32, seed uint64) {
		if !isFinite(alpha) || !isFinite(beta) || math.Abs(float64(alpha)) > 1e6 || math.Abs(float64(beta)) > 1e6 {
			t.Skip("scalars out of range")
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		tc := sgemmCase{transA: transA, transB: transB, m: int(m), n: int(n), k: int(k), alpha: alpha, beta: beta, pad: int(seed % 3)}
		a, b, c := tc.operands(rng)
		want := c.clone()
		sgemmGeneric(transA, transB, tc.m, tc.n, tc.k, alpha, a.data(), a.ld, b.data(), b.ld, beta, want.data(), want.ld)
		_, tol := tc.want(a, b, c)
		for i := range tol.buf {
			if tol.inside(i) {
				tol.buf[i] *= 2 // both sides round
			}
		}
		eachISA(t, func(t *testing.T) {
			got := c.clone()
			Sgemm(transA, transB, tc.m, tc.n, tc.k, alpha, a.data(), a.ld, b.data(), b.ld, beta, got.data(), got.ld)
			compare(t, got, want, tol)
		})
	})
}

func isFinite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

func TestSgemmEpilogue(t *testing.T) {
	acts := []Activation{ActNone, ActReLU, ActGELU, ActQuickGELU}
	eachISA(t, func(t *testing.T) {
		eachSplit(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, 18))
			for i, s := range [][3]int{{1, 1, 1}, {13, 33, 7}, {50, 96, 300}, {70, 65, 0}, {300, 333, 20}} {
				for _, act := range acts {
					for _, packed := range []bool{false, true} {
						tc := sgemmCase{transA: i%2 == 1, m: s[0], n: s[1], k: s[2], alpha: 1, beta: float32(i % 2), pad: 1}
						bias := i%3 != 2
						t.Run(fmt.Sprintf("%v/act%d/bias=%v/packed=%v", tc, act, bias, packed), func(t *testing.T) {
							a, b, c := tc.operands(rng)
							want, tol := tc.want(a, b, c)
							ep := Epilogue{Act: act}
							if bias {
								ep.Bias = make([]float32, tc.n)
								for j := range ep.Bias {
									ep.Bias[j] = float32(rng.NormFloat64())
								}
							}
							// The reference: the whole of C, then bias and activation row by row.
							ep.apply(want.data(), want.ld, 0, tc.m, 0, tc.n)
							for i := range tol.buf {
								if tol.inside(i) {
									tol.buf[i] = 2*tol.buf[i] + 2e-6*float32(math.Abs(float64(want.buf[i])))
								}
							}
							withThreads(2, func() {
								if packed {
									pb := PackB(false, tc.k, tc.n, b.data(), b.ld)
									SgemmPackedEpilogue(tc.transA, tc.m, tc.alpha, a.data(), a.ld, pb, tc.beta, c.data(), c.ld, ep)
								} else {
									SgemmEpilogue(tc.transA, false, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, c.data(), c.ld, ep)
								}
							})
							compare(t, c, want, tol)
						})
					}
				}
			}
		})
	})
}

// TestSgemmEpilogueOut checks that with Out, C holds exactly what an
// epilogue with the bias alone leaves and Out exactly the activation of it.
func TestSgemmEpilogueOut(t *testing.T) {
	acts := map[Activation]func(dst, x []float32){ActReLU: ReLU, ActGELU: GELU, ActQuickGELU: QuickGELU}
	eachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, s := range [][3]int{{1, 1, 1}, {13, 33, 7}, {70, 100, 300}} {
			for act, f := range acts {
				for _, packed := range []bool{false, true} {
					tc := sgemmCase{m: s[0], n: s[1], k: s[2], alpha: 1, pad: 3}
					a, b, c := tc.operands(rng)
					bias := make([]float32, tc.n)
					for j := range bias {
						bias[j] = float32(rng.NormFloat64())
					}
					name := fmt.Sprintf("%v/act%d/packed=%v", tc, act, packed)
					run := func(c *matrix, ep Epilogue) {
						withThreads(2, func() {
							if packed {
								pb := PackB(false, tc.k, tc.n, b.data(), b.ld)
								SgemmPackedEpilogue(false, tc.m, 1, a.data(), a.ld, pb, 0, c.data(), c.ld, ep)
							} else {
								SgemmEpilogue(false, false, tc.m, tc.n, tc.k, 1, a.data(), a.ld, b.data(), b.ld, 0, c.data(), c.ld, ep)
							}
						})
					}
					ref := c.clone()
					run(ref, Epilogue{Bias: bias})
					got, out := c.clone(), c.clone()
					out.fill(0)
					run(got, Epilogue{Bias: bias, Act: act, Out: out.data()})
					got.checkGuards(t, name+" C")
					out.checkGuards(t, name+" Out")
					for i := 0; i < tc.m; i++ {
						row := ref.data()[i*ref.ld : i*ref.ld+tc.n]
						want := make([]float32, tc.n)
						f(want, row)
						for j := range tc.n {
							g, o := got.data()[i*got.ld+j], out.data()[i*out.ld+j]
							if math.Float32bits(g) != math.Float32bits(row[j]) || math.Float32bits(o) != math.Float32bits(want[j]) {
								t.Fatalf("%s: [%d,%d]: C %v, Out %v; want %v and %v", name, i, j, g, o, row[j], want[j])
							}
						}
					}
				}
			}
		}
	})
}

func TestSgemmEpiloguePanics(t *testing.T) {
	c := make([]float32, 16)
	a := make([]float32, 16)
	for _, tc := range []struct {
		name string
		ep   Epilogue
		want string
	}{
		{"short bias", Epilogue{Bias: make([]float32, 3)}, "len(Bias)=3, want n=4"},
		{"bias overlaps C", Epilogue{Bias: c[4:8]}, "Bias overlaps C"},
		{"bad activation", Epilogue{Act: 42}, "unknown Activation 42"},
		{"out without activation", Epilogue{Out: make([]float32, 16)}, "Out without an Activation"},
		{"short out", Epilogue{Act: ActReLU, Out: make([]float32, 15)}, "len(Out)=15, want at least 16"},
		{"out overlaps C", Epilogue{Act: ActReLU, Out: c}, "Out overlaps C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: SgemmEpilogue: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic: got %q, want a kernels: SgemmEpilogue: message containing %q", msg, tc.want)
				}
			}()
			SgemmEpilogue(false, false, 4, 4, 4, 1, a, 4, a, 4, 0, c, 4, tc.ep)
		})
	}
}

// TestSgemmStripQueueParallel runs products of several rounds (blocks of
// rows and of k) through the strip queue on 2 and 3 threads: each must
// equal the 1-thread result bit for bit. Under -race it also checks that a
// strip never starts a round before the last one finished on another thread.
func TestSgemmStripQueueParallel(t *testing.T) {
	on, least := stripQueues, queueMinWork
	stripQueues, queueMinWork = true, 0
	defer func() { stripQueues, queueMinWork = on, least }()
	prev := SetSgemmBlocking(Blocking{KC: 19, MC: 25})
	defer SetSgemmBlocking(prev)
	rng := rand.New(rand.NewPCG(31, 32))
	// The last shape splits by rows into shares taller than MC, which run
	// through the strip queue instead of the row queue.
	for _, s := range [][3]int{{60, 700, 100}, {7, 999, 64}, {130, 257, 41}, {400, 70, 50}} {
		tc := sgemmCase{m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5}
		a, b, c := tc.operands(rng)
		ep := Epilogue{Bias: randSlice(rng, tc.n, -1, 1), Act: ActReLU}
		run := func(threads int) []float32 {
			got := c.clone()
			withThreads(threads, func() {
				SgemmEpilogue(false, false, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, got.data(), got.ld, ep)
			})
			return got.buf
		}
		ref := run(1)
		for _, threads := range []int{2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3} {
			if got := run(threads); !bitsEqual(got, ref) {
				t.Errorf("%v, %d threads: result differs from the 1-thread result", tc, threads)
			}
		}
	}
}

// TestStripQueueParallel has goroutines take the strips of several rounds
// at uneven speeds: every strip of a round must go out exactly once, and
// each goroutine must get its own share's strips in increasing order.
func TestStripQueueParallel(t *testing.T) {
	const threads, rounds = 3, 4
	for _, strips := range []int{1, 2, 3, 10, 97} {
		j := sgemmJob{kern: kernelFor(current), blk: Blocking{KC: 1, MC: 1 << 20}, m: 5, n: strips * stripWidth, k: rounds}
		q := j.newStripQueue(threads)
		taken := make([][threads][]int, rounds)
		var wg sync.WaitGroup
		for th := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					last := -1
					for {
						s, own := q.claim(r, th)
						if s < 0 {
							break
						}
						if own {
							if s <= last {
								t.Errorf("thread %d got strip %d of its share after %d", th, s, last)
							}
							last = s
						}
						taken[r][th] = append(taken[r][th], s)
						time.Sleep(time.Duration(th) * 50 * time.Microsecond)
					}
				}
			}()
		}
		wg.Wait()
		for r := range rounds {
			var all []int
			for th := range threads {
				all = append(all, taken[r][th]...)
			}
			slices.Sort(all)
			if len(all) != strips || (strips > 0 && (all[0] != 0 || all[strips-1] != strips-1)) || len(slices.Compact(all)) != strips {
				t.Errorf("%d strips, round %d: handed out %v", strips, r, all)
			}
		}
	}
}

// TestSgemmRowQueueParallel runs row splits of several rounds through the
// row queue with the first thread slowed down, so that the others compute
// strips of its rows with its packed blocks: each product must equal the
// 1-thread result bit for bit (and, under -race, share no memory without
// order).
func TestSgemmRowQueueParallel(t *testing.T) {
	on, least := stripQueues, queueMinWork
	stripQueues, queueMinWork = true, 0
	defer func() { stripQueues, queueMinWork = on, least }()
	prev := SetSgemmBlocking(Blocking{KC: 19})
	defer SetSgemmBlocking(prev)
	// The first thread is slow on its own strips, so the others take some;
	// they are slower still on those, so it catches up with them.
	rowQueueDelay = func(thread int, own bool) {
		switch {
		case !own:
			time.Sleep(300 * time.Microsecond)
		case thread == 0:
			time.Sleep(30 * time.Microsecond)
		}
	}
	defer func() { rowQueueDelay = nil }()
	rng := rand.New(rand.NewPCG(33, 34))
	for _, s := range [][3]int{{600, 100, 80}, {301, 40, 90}, {900, 33, 45}} {
		for _, transA := range []bool{false, true} {
			tc := sgemmCase{transA: transA, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5}
			a, b, c := tc.operands(rng)
			ep := Epilogue{Bias: randSlice(rng, tc.n, -1, 1), Act: ActReLU}
			run := func(threads int) []float32 {
				got := c.clone()
				withThreads(threads, func() {
					SgemmEpilogue(tc.transA, false, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, got.data(), got.ld, ep)
				})
				return got.buf
			}
			ref := run(1)
			for _, threads := range []int{2, 3, 2, 3, 2, 3} {
				j := sgemmJob{kern: kernelFor(current), m: tc.m, n: tc.n, k: tc.k}
				if tm, tn := j.split(threads); tn != 1 || tm != threads {
					t.Fatalf("%v on %d threads splits %d×%d, want the rows only", tc, threads, tm, tn)
				}
				if got := run(threads); !bitsEqual(got, ref) {
					t.Errorf("%v, %d threads: result differs from the 1-thread result", tc, threads)
				}
			}
		}
	}
}

// TestPackBInPlace checks that PackBInPlace lays a weight out as PackB
// does, in the weight's own storage, that the packed weight gives
// SgemmPacked Sgemm's bits, and that UnpackInPlace restores the weight bit
// for bit.
func TestPackBInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][2]int{{32, 1}, {32, 7}, {64, 41}, {96, 300}, {0, 5}, {64, 0}} {
		n, k := s[0], s[1]
		t.Run(fmt.Sprintf("n%d/k%d", n, k), func(t *testing.T) {
			w := randSlice(rng, n*k+3, -1, 1)
			orig := slices.Clone(w)
			want := PackB(true, k, n, w, max(k, 1))
			m := 13
			a := randSlice(rng, m*k, -1, 1)
			c1 := make([]float32, m*n)
			c2 := make([]float32, m*n)
			Sgemm(false, true, m, n, k, 1, a, max(k, 1), w, max(k, 1), 0, c1, max(n, 1))

			got := PackBInPlace(w, n, k)
			if got.K() != k || got.N() != n || !sameBits(got.data, want.data) {
				t.Fatalf("PackBInPlace differs from PackB")
			}
			if n*k > 0 && &got.data[0] != &w[0] {
				t.Fatalf("PackBInPlace did not pack into w")
			}
			SgemmPacked(false, m, 1, a, max(k, 1), got, 0, c2, max(n, 1))
			if !sameBits(c1, c2) {
				t.Fatalf("SgemmPacked with PackBInPlace differs from Sgemm")
			}
			got.UnpackInPlace()
			if !sameBits(w, orig) {
				t.Fatalf("UnpackInPlace does not restore the weight")
			}
		})
	}
}

// TestPackBInPlacePanics checks the arguments PackBInPlace refuses.
func TestPackBInPlacePanics(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"rows not a multiple of 32", "a multiple of 32", func() { PackBInPlace(make([]float32, 40*4), 40, 4) }},
		{"negative", "non-negative", func() { PackBInPlace(nil, 32, -1) }},
		{"short", "10 floats for a 32×4 matrix", func() { PackBInPlace(make([]float32, 10), 32, 4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}
