package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// canonicalLengths are the vector lengths the same-bits tests run: every
// tail of a 16-element block, AVX2's half blocks, and long vectors.
var canonicalLengths = []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 63, 64, 65, 100, 768, 777, 4099}

// wideFloats returns n values of random sign spread over six decades, so
// that sums in another order round differently.
func wideFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * math.Pow(10, 3*rng.Float64()-1.5))
	}
	return x
}

// sameBitsAcrossISAs runs f under every supported ISA and fails when any
// result's bits differ from the first ISA's.
func sameBitsAcrossISAs(t *testing.T, f func() []float32) {
	t.Helper()
	var ref []float32
	var refISA ISA
	for _, isa := range Supported() {
		prev, err := Use(isa)
		if err != nil {
			t.Fatal(err)
		}
		got := f()
		Use(prev)
		if ref == nil {
			ref, refISA = got, isa
			continue
		}
		if len(got) != len(ref) {
			t.Fatalf("%v: %d results, %v: %d", isa, len(got), refISA, len(ref))
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
				t.Errorf("%v: result %d of %d is %g (%#08x), %v gives %g (%#08x)",
					isa, i, len(got), got[i], math.Float32bits(got[i]), refISA, ref[i], math.Float32bits(ref[i]))
				break
			}
		}
	}
}

// TestReductionsSameBitsAcrossISAs checks that every reduction kernel sums
// in the canonical order on every ISA (16 interleaved partial sums combined
// by halving), whatever the length.
func TestReductionsSameBitsAcrossISAs(t *testing.T) {
	ops := []struct {
		name string
		f    func(x, y, z []float32) []float32
	}{
		{"sum", func(x, _, _ []float32) []float32 { return []float32{elt().sum(x)} }},
		{"dot", func(x, y, _ []float32) []float32 { return []float32{elt().dot(x, y)} }},
		{"sumSqDev", func(x, _, _ []float32) []float32 { return []float32{elt().sumSqDev(x, 0.37)} }},
		{"normBackwardSums", func(x, y, z []float32) []float32 {
			dg, db := append([]float32(nil), z...), append([]float32(nil), y...)
			sg, sgx := elt().normBackwardSums(dg, db, y, x, z, 0.1, 1.3)
			return append(append([]float32{sg, sgx}, dg...), db...)
		}},
	}
	rng := rand.New(rand.NewPCG(16, 16))
	for _, n := range canonicalLengths {
		x, y, z := wideFloats(rng, n), wideFloats(rng, n), wideFloats(rng, n)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s/n=%d", op.name, n), func(t *testing.T) {
				sameBitsAcrossISAs(t, func() []float32 { return op.f(x, y, z) })
			})
		}
	}
}

// edgeFloats returns n values mixing ordinary ones with those that test the
// clamps and roundings of the transcendental kernels: zeros of both signs,
// infinities, subnormals, the bounds of exp's range and large magnitudes.
func edgeFloats(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		1e-40, -1e-40, 88.72, 88.73, -87.3, -103.9, -104.1, 89.5, 1e30, -1e30, 20, -20, 14, -14, 0.5, -0.5}
	x := make([]float32, n)
	for i := range x {
		switch {
		case rng.IntN(8) == 0:
			x[i] = special[rng.IntN(len(special))]
		case rng.IntN(2) == 0:
			x[i] = float32(rng.NormFloat64() * 40)
		default:
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

// TestEltwiseSameBitsAcrossISAs checks that every elementwise kernel gives
// the same bits on every ISA: the same polynomials, and fused multiply-adds
// exactly where the assembly fuses them.
func TestEltwiseSameBitsAcrossISAs(t *testing.T) {
	unary := func(f func(dst, x []float32)) func(x, _, _ []float32) []float32 {
		return func(x, _, _ []float32) []float32 { d := make([]float32, len(x)); f(d, x); return d }
	}
	binary := func(f func(dst, x, y []float32)) func(x, y, _ []float32) []float32 {
		return func(x, y, _ []float32) []float32 { d := make([]float32, len(x)); f(d, y, x); return d }
	}
	ops := []struct {
		name string
		f    func(x, y, z []float32) []float32
	}{
		{"Exp", unary(Exp)},
		{"Sigmoid", unary(Sigmoid)},
		{"QuickGELU", unary(QuickGELU)},
		{"QuickGELUBackward", binary(QuickGELUBackward)},
		{"GELU", unary(GELU)},
		{"GELUBackward", binary(GELUBackward)},
		{"Axpy", func(x, y, _ []float32) []float32 { d := append([]float32(nil), y...); Axpy(0.3, x, d); return d }},
		{"Affine", func(x, _, _ []float32) []float32 { d := make([]float32, len(x)); Affine(d, 0.3, x, 0.7); return d }},
		{"AffineReLU", func(x, _, _ []float32) []float32 { d := make([]float32, len(x)); AffineReLU(d, -1.3, x, 0.7); return d }},
		{"SGDMomentum", func(x, y, z []float32) []float32 {
			w, buf := append([]float32(nil), x...), append([]float32(nil), z...)
			SGDMomentum(w, y, buf, 0.1, 1e-4, 0.9, 0.1, false)
			SGDMomentum(w, y, buf, 0.1, 1e-4, 0.9, 0, true)
			return append(w, buf...)
		}},
		{"BatchNormBackwardDx", func(x, y, z []float32) []float32 {
			d := append([]float32(nil), z...)
			BatchNormBackwardDx(d, y, x, 0.3, 0.1, 0.2, 1.3, 0.4)
			return d
		}},
		{"expSubSum", func(x, _, _ []float32) []float32 {
			d := make([]float32, len(x))
			s := elt().expSubSum(d, x, 2.5)
			return append(d, s)
		}},
		{"sumExpSub", func(x, _, _ []float32) []float32 { return []float32{elt().sumExpSub(x, 2.5)} }},
		{"subExpScaled", func(x, y, _ []float32) []float32 {
			d := make([]float32, len(x))
			elt().subExpScaled(d, y, x, 0.7)
			return d
		}},
		{"normAffine", func(x, y, z []float32) []float32 {
			d := make([]float32, len(x))
			elt().normAffine(d, x, y, z, 0.2, 1.7)
			return d
		}},
		{"normBackwardDx", func(x, y, z []float32) []float32 {
			d := make([]float32, len(x))
			elt().normBackwardDx(d, y, x, z, 0.2, 1.7, 0.3, -0.4)
			return d
		}},
	}
	rng := rand.New(rand.NewPCG(16, 17))
	for _, n := range canonicalLengths {
		x, y, z := edgeFloats(rng, n), wideFloats(rng, n), wideFloats(rng, n)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s/n=%d", op.name, n), func(t *testing.T) {
				sameBitsAcrossISAs(t, func() []float32 { return op.f(x, y, z) })
			})
		}
	}
}

// specialFloats returns n values of which about one in eight tests a
// kernel's arithmetic at its edges: NaN, an infinity, a zero of either
// sign, a subnormal, or a float whose products overflow.
func specialFloats(rng *rand.Rand, n int) []float32 {
	return sprinkle(rng, wideFloats(rng, n), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 1e20, -2e19, math.MaxFloat32, -math.MaxFloat32)
}

// tinyFloats returns n values near 1e-20, whose products (near 1e-40) and
// their sums are subnormal, with about one in eight a zero of either sign
// or a subnormal itself.
func tinyFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 1e-20)
	}
	return sprinkle(rng, x, 0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 0x1p-149, -0x1p-126)
}

// sprinkle replaces about one in eight elements of x with values from special.
func sprinkle(rng *rand.Rand, x []float32, special ...float32) []float32 {
	for i := range x {
		if rng.IntN(8) == 0 {
			x[i] = special[rng.IntN(len(special))]
		}
	}
	return x
}

// tileReference computes a tile as the generic kernel defines it: each
// element one chain of fma32 over p from zero, then storeC.
func tileReference(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var acc float32
			for p := 0; p < kc; p++ {
				acc = fma32(a[p*mr+i], b[p*ldb+j], acc)
			}
			c[i*ldc+j] = storeC(c[i*ldc+j], alpha, beta, acc)
		}
	}
}

// TestSgemmTilesSameBits runs every micro-kernel this CPU and build
// support, alone, on every height 1…mr and width 1…nr of its tile, k
// around its unrolling, the special values of alpha and beta, and operands
// with subnormal products, NaN and infinities, and checks it bit for bit against
// the generic kernel's definition. It also checks that nothing outside
// the tile is written and, with beta = ±0, that C is not read (it holds
// NaN).
func TestSgemmTilesSameBits(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {-0.5, 2}, {0.3, negZero}, {1.5, -1}, {0.7, -0.3}, {1, 0.37}, {1e-30, 1e30}}
	operands := []struct {
		name string
		gen  func(*rand.Rand, int) []float32
	}{{"wide", wideFloats}, {"tiny", tinyFloats}, {"special", specialFloats}}
	nan := float32(math.NaN())
	for _, isa := range Supported() {
		kern := kernelFor(isa)
		for _, ops := range operands {
			t.Run(fmt.Sprintf("%v/%s", isa, ops.name), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(17, uint64(isa)))
				for mr := 1; mr <= kern.mr; mr++ {
					for nr := 1; nr <= kern.nr; nr++ {
						for _, kc := range []int{1, 2, 3, 4, 5, 8, 13} {
							sc := scalars[(mr+nr+kc)%len(scalars)]
							ldb, ldc := kern.nr+3, nr+5
							a := ops.gen(rng, kc*mr)
							b := ops.gen(rng, (kc-1)*ldb+kern.nr)
							c := ops.gen(rng, mr*ldc)
							if sc.beta == 0 {
								for i := 0; i < mr; i++ {
									for j := 0; j < nr; j++ {
										c[i*ldc+j] = nan
									}
								}
							}
							want := slices.Clone(c)
							tileReference(kc, a, b, ldb, want, ldc, sc.alpha, sc.beta, mr, nr)
							kern.tile(kc, a, b, ldb, c, ldc, sc.alpha, sc.beta, mr, nr, nil, 0)
							if i := firstDiff(c, want); i >= 0 {
								t.Fatalf("%dx%d tile, k=%d, alpha=%g, beta=%g: C[%d][%d] = %g (%#08x), want %g (%#08x)",
									mr, nr, kc, sc.alpha, sc.beta, i/ldc, i%ldc, c[i], math.Float32bits(c[i]), want[i], math.Float32bits(want[i]))
							}
						}
					}
				}
			})
		}
	}
}

// firstDiff returns the index of the first element of x that differs from
// y's, or -1. Elements are the same when their bits are, or when both are
// NaN: the paths give NaN in the same places, but not always the same NaN
// (x86 makes a negative one where arm64 and Go make a positive one).
func firstDiff(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) && !(x[i] != x[i] && y[i] != y[i]) {
			return i
		}
	}
	return -1
}

// TestSgemmTilesDoNotAllocate checks that no micro-kernel allocates, full
// or partial width: a kernel that staged a partial tile on the heap would
// allocate once per row panel of every product whose n is not a multiple
// of its width.
func TestSgemmTilesDoNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	for _, isa := range Supported() {
		kern := kernelFor(isa)
		const kc = 9
		a, b, c := wideFloats(rng, kc*kern.mr), wideFloats(rng, kc*kern.nr), wideFloats(rng, kern.mr*kern.nr)
		for _, nr := range []int{kern.nr, kern.nr - 1, 1} {
			f := func() { kern.tile(kc, a, b, kern.nr, c, kern.nr, 1, 0.5, kern.mr, nr, nil, 0) }
			if n := testing.AllocsPerRun(10, f); n != 0 {
				t.Errorf("%v: %dx%d tile: %v allocations", isa, kern.mr, nr, n)
			}
		}
	}
}
