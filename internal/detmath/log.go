package detmath

import "math"

const (
	// twoThirds + twoThirdsLo is 2/3 to about 2⁻¹⁰⁶. twoThirds is written
	// out because a typed float64(2.0/3) would turn the difference into
	// float64 arithmetic, and zero.
	twoThirds   = 0x1.5555555555555p-1
	twoThirdsLo = 2.0/3 - twoThirds
)

// logCoef holds 2/(2j+1) for j = 2…11: the tail of
// log(1+u) = 2·atanh(s) = 2s + (2/3)s³ + (2/5)s⁵ + … after the s³ term,
// in powers of z = s². For |s| ≤ 0.1716 the truncation error is below
// 2⁻⁶⁵ of the result.
var logCoef = []float64{
	2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13,
	2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23,
}

// Log returns the natural logarithm of x, within 1 ulp, with the same
// bits on every GOARCH. Log(+Inf) = +Inf, Log(0) = −Inf, Log(x < 0) = NaN
// and Log(NaN) = NaN.
func Log(x float64) float64 {
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	hi, lo := logDD(x)
	return hi + lo
}

// logDD returns log x as hi+lo, to about 2⁻⁶⁶ relative, for a finite
// x > 0. It writes x = f·2ᵉ with √½ ≤ f < √2, u = f−1 (exact) and
// s = u/(2+u), and uses log(1+u) = 2·atanh(s) = u − s·(u − T) with
// T = (2/3)s² + (2/5)s⁴ + …, since 2s = u − s·u.
func logDD(x float64) (hi, lo float64) {
	f, e := math.Frexp(x)
	if f < math.Sqrt2/2 {
		f, e = 2*f, e-1
	}
	u := f - 1

	// s = u/(2+u) as s+sl.
	d, dl := fastTwoSum(2, u)
	s := u / d
	sl := (math.FMA(-s, d, u) - float64(s*dl)) / d

	// z = s² as z+zl, then T = (2/3)·z + z²·Q(z) as th+tl.
	z, zl := twoProd(s, s)
	zl += float64(2 * float64(s*sl))
	th, tl := twoProd(twoThirds, z)
	tl += float64(twoThirds*zl) + float64(twoThirdsLo*z)
	th, t := fastTwoSum(th, float64(float64(z*z)*horner(z, logCoef)))
	tl += t

	// c = s·(u − T), then log(1+u) = u − c.
	wh, wl := twoSum(u, -th)
	wl -= tl
	ch, cl := twoProd(s, wh)
	cl += float64(s*wl) + float64(sl*wh)
	hi, lo = twoSum(u, -ch)
	lo -= cl
	if e == 0 {
		return fastTwoSum(hi, lo)
	}

	// Add e·ln2: e·ln2Hi is exact, e·ln2Lo is carried as a pair.
	ef := float64(e)
	eh, el := twoProd(ef, ln2Lo)
	hi, t = twoSum(float64(ef*ln2Hi), hi)
	lo += t + eh + el
	return fastTwoSum(hi, lo)
}
