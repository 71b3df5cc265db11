package detmath

import (
	"math"
	"math/big"
	"sync"
)

// π/2 as four pieces: the first three have at most 33 significant bits,
// so k·pio2a, k·pio2b and k·pio2c are exact for |k| < 2²⁰; pio2d is the
// rest, rounded. Together they carry π/2 to about 2⁻¹⁵⁶.
const (
	pio2a = 0x1.921fb544p+0
	pio2b = 0x1.0b4611a6p-34
	pio2c = 0x1.3198a2ep-69
	pio2d = 0x1.b839a252049c1p-104

	// reduceMax is the bound below which reduce uses the pieces above;
	// beyond it, math/big.
	reduceMax = 0x1p20
)

// sinCoef holds (−1)ʲ/(2j+1)! for j = 1…8: sin r = r + r³·Σ sinCoef[i]·zⁱ
// with z = r², to 2⁻⁶⁰ of the result for |r| ≤ π/4.
var sinCoef = []float64{
	-1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
	1.0 / 6227020800, -1.0 / 1307674368000, 1.0 / 355687428096000,
}

// cosCoef holds (−1)ʲ/(2j)! for j = 2…8: cos r = 1 − z/2 + z²·Σ cosCoef[i]·zⁱ
// with z = r², to 2⁻⁵⁸ of the result for |r| ≤ π/4.
var cosCoef = []float64{
	1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600,
	-1.0 / 87178291200, 1.0 / 20922789888000,
}

// Sin returns the sine of x (radians), within 1 ulp, with the same bits
// on every GOARCH. Sin(±0) = ±0, Sin(±Inf) = NaN and Sin(NaN) = NaN.
func Sin(x float64) float64 {
	s, _ := Sincos(x)
	return s
}

// Cos returns the cosine of x (radians), within 1 ulp, with the same bits
// on every GOARCH. Cos(±Inf) = NaN and Cos(NaN) = NaN.
func Cos(x float64) float64 {
	_, c := Sincos(x)
	return c
}

// Sincos returns Sin(x) and Cos(x), computed together.
func Sincos(x float64) (sin, cos float64) {
	switch {
	case x != x || math.IsInf(x, 0):
		return math.NaN(), math.NaN()
	case math.Abs(x) < 0x1p-27:
		// sin x = x(1 − x²/6) and cos x = 1 − x²/2 round to x and 1.
		return x, 1
	}
	rh, rl, q := reduce(x)
	s, c := sinKernel(rh, rl), cosKernel(rh, rl)
	switch q {
	case 1:
		s, c = c, -s
	case 2:
		s, c = -s, -c
	case 3:
		s, c = -c, s
	}
	return s, c
}

// sinKernel returns sin(rh+rl) for |rh| ≤ π/4 and |rl| ≤ ulp(rh).
func sinKernel(rh, rl float64) float64 {
	z := float64(rh * rh)
	t := float64(float64(z*rh) * horner(z, sinCoef))
	t += float64(rl * (1 - float64(0.5*z)))
	return rh + t
}

// cosKernel returns cos(rh+rl) for |rh| ≤ π/4 and |rl| ≤ ulp(rh); z/2 is
// carried as a pair so that 1 − z/2 loses nothing.
func cosKernel(rh, rl float64) float64 {
	z, zl := twoProd(rh, rh)
	w, wl := fastTwoSum(1, -float64(0.5*z))
	t := float64(float64(z*z)*horner(z, cosCoef)) - float64(0.5*zl) - float64(rh*rl)
	return w + (wl + t)
}

// reduce returns rh+rl and q with x = k·π/2 + rh + rl, q = k mod 4 and
// |rh| ≤ π/4 (a hair more where x·2/π rounds), to about 2⁻¹⁰⁰ of the
// result.
func reduce(x float64) (rh, rl float64, q int) {
	if math.Abs(x) >= reduceMax {
		return reduceBig(x)
	}
	k := math.RoundToEven(float64(x * (2 / math.Pi)))
	a := x - float64(k*pio2a) // exact: k·pio2a is, and x is near it
	rh, rl = twoSum(a, -float64(k*pio2b))
	rh, e := twoSum(rh, -float64(k*pio2c))
	rl += e - float64(k*pio2d)
	rh, rl = twoSum(rh, rl)
	return rh, rl, int(int64(k) & 3)
}

// bigPrec is the precision of reduceBig: x/(π/2) has up to 1024 integer
// bits, and the remainder keeps over 200 more.
const bigPrec = 1400

// bigPiO2 is π/2 to bigPrec bits, by Machin's formula
// π/4 = 4·atan(1/5) − atan(1/239).
var bigPiO2 = sync.OnceValue(func() *big.Float {
	p := new(big.Float).SetPrec(bigPrec)
	p.Sub(p.Mul(big.NewFloat(4).SetPrec(bigPrec), atanInv(5)), atanInv(239))
	return p.Mul(p, big.NewFloat(2))
})

// atanInv returns atan(1/n) = Σ (−1)ʲ/((2j+1)·n^(2j+1)) to bigPrec bits.
func atanInv(n int64) *big.Float {
	sum := new(big.Float).SetPrec(bigPrec)
	pow := new(big.Float).SetPrec(bigPrec).Quo(big.NewFloat(1), big.NewFloat(float64(n))) // 1/n^(2j+1)
	n2 := new(big.Float).SetPrec(bigPrec).SetInt64(n * n)
	term := new(big.Float).SetPrec(bigPrec)
	for j := int64(0); pow.MantExp(nil) > -bigPrec-8; j++ {
		term.Quo(pow, new(big.Float).SetInt64(2*j+1))
		if j%2 == 0 {
			sum.Add(sum, term)
		} else {
			sum.Sub(sum, term)
		}
		pow.Quo(pow, n2)
	}
	return sum
}

// reduceBig is reduce for |x| ≥ reduceMax, in math/big.
func reduceBig(x float64) (rh, rl float64, q int) {
	bx := new(big.Float).SetPrec(bigPrec).SetFloat64(x)
	t := new(big.Float).SetPrec(bigPrec).Quo(bx, bigPiO2())
	half := big.NewFloat(0.5)
	if t.Sign() < 0 {
		t.Sub(t, half)
	} else {
		t.Add(t, half)
	}
	k, _ := t.Int(nil) // k = x/(π/2) rounded half away from zero
	r := new(big.Float).SetPrec(bigPrec).SetInt(k)
	r.Sub(bx, r.Mul(r, bigPiO2()))
	rh, _ = r.Float64()
	rl, _ = r.Sub(r, big.NewFloat(rh)).Float64()
	return rh, rl, int(new(big.Int).And(k, big.NewInt(3)).Int64())
}
