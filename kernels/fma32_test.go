package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fma32Exact returns x*y + z rounded once to float32 (to nearest, ties to
// even) by math/big; the operands must be finite.
func fma32Exact(x, y, z float32) float32 {
	const prec = 1000 // the exact product and sum need fewer than 500 bits
	bx := new(big.Float).SetPrec(prec).SetFloat64(float64(x))
	by := new(big.Float).SetPrec(prec).SetFloat64(float64(y))
	bz := new(big.Float).SetPrec(prec).SetFloat64(float64(z))
	r := new(big.Float).SetPrec(prec).Mul(bx, by)
	r.Add(r, bz)
	r.SetMode(big.ToNearestEven)
	f, _ := r.Float32()
	return f
}

// fma32Cases returns triples that fma32 must get right: special values,
// signed zeros, subnormals, overflow, cancellation, random operands, and
// sums just off a float32 midpoint, where rounding math.FMA's float64 result
// to float32 (two roundings) goes wrong.
func fma32Cases(rng *rand.Rand, n int) [][3]float32 {
	inf := float32(math.Inf(1))
	maxf, tiny := float32(math.MaxFloat32), float32(math.SmallestNonzeroFloat32)
	negZero := float32(math.Copysign(0, -1))
	cases := [][3]float32{
		{0, 0, 0}, {negZero, 0, 0}, {0, 0, negZero},
		{negZero, 1, negZero}, {negZero, negZero, 0},
		{1, negZero, 0},
		{1, 1, -1}, {-1, 1, 1}, {2, 3, -6},
		{maxf, 2, 0}, {maxf, 2, -maxf}, {maxf, 1, maxf}, {-maxf, 1, -maxf},
		{maxf, maxf, -inf}, {tiny, tiny, 0}, {tiny, 0.5, 0}, {tiny, 0.75, 0},
		{tiny, 1.5, 0}, {tiny, 2.5, 0}, {-tiny, 0.5, 0}, {tiny, -0.5, tiny},
		{1e-20, 1e-20, tiny}, {math.MaxFloat32 / 2, 2, math.MaxFloat32 / 1e7},
		{inf, 1, 1}, {inf, 0, 1}, {1, 1, inf}, {inf, 1, -inf},
		{float32(math.NaN()), 1, 1}, {1, 1, float32(math.NaN())},
	}
	random := func() float32 {
		// Any finite float32: a random sign, exponent and significand.
		for {
			f := math.Float32frombits(rng.Uint32())
			if !math.IsInf(float64(f), 0) && !math.IsNaN(float64(f)) {
				return f
			}
		}
	}
	for range n {
		// Near midpoints: z has an odd significand and x*y is half an ulp
		// of z times (1 + a·2^-23)(1 - b·2^-23), just off the midpoint.
		z := math.Float32frombits(rng.Uint32N(0x7f000000) | 1)
		if rng.IntN(2) == 0 {
			z = -z
		}
		half := float32(math.Ldexp(1, math.Ilogb(float64(z))-24))
		if math.Float32bits(z)&0x7f800000 == 0 {
			half = tiny / 2 // z is subnormal: its ulp is the smallest step
		}
		a, b := float32(1+rng.IntN(64)), float32(1+rng.IntN(64))
		x := half * (1 + a*0x1p-23)
		if half == tiny/2 {
			x = 0.5 * (1 + a*0x1p-23)
			half = tiny
		}
		y := (1 - b*0x1p-23)
		if half == tiny {
			y *= tiny
		}
		if rng.IntN(2) == 0 {
			x = -x
		}
		cases = append(cases, [3]float32{x, y, z})

		// Cancellation: z close to -(x*y).
		x, y = random(), float32(rng.NormFloat64())
		cases = append(cases, [3]float32{x, y, -x * y}, [3]float32{x, y, -x * y * (1 + 0x1p-20)})

		// Random operands, and random ones of similar magnitude.
		cases = append(cases, [3]float32{random(), random(), random()})
		x, y = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		cases = append(cases, [3]float32{x, y, float32(rng.NormFloat64())})
	}
	return cases
}

func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 32))
	doubleRounding := 0
	for _, c := range fma32Cases(rng, 100000) {
		x, y, z := c[0], c[1], c[2]
		got := fma32(x, y, z)
		var want float32
		if math.IsInf(float64(x), 0) || math.IsInf(float64(y), 0) || math.IsInf(float64(z), 0) ||
			math.IsNaN(float64(x)) || math.IsNaN(float64(y)) || math.IsNaN(float64(z)) {
			want = float32(float64(x)*float64(y) + float64(z)) // IEEE rules for the specials
		} else {
			want = fma32Exact(x, y, z)
		}
		if float32(math.FMA(float64(x), float64(y), float64(z))) != want {
			doubleRounding++
		}
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#08x), want %g (%#08x)",
				x, y, z, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	// The cases must include the ones that a double rounding gets wrong.
	if doubleRounding < 1000 {
		t.Errorf("only %d cases where float32(math.FMA(…)) is wrong; the midpoint cases are too easy", doubleRounding)
	}
}

// TestFMA32Odd holds the slow path to math/big on every case, not only on
// those fma32 sends it.
func TestFMA32Odd(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 33))
	for _, c := range fma32Cases(rng, 20000) {
		x, y, z := c[0], c[1], c[2]
		if math.IsInf(float64(x), 0) || math.IsInf(float64(y), 0) || math.IsInf(float64(z), 0) ||
			math.IsNaN(float64(x)) || math.IsNaN(float64(y)) || math.IsNaN(float64(z)) {
			continue
		}
		if got, want := fma32Odd(x, y, z), fma32Exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32Odd(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	}
}
