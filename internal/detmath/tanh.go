package detmath

import "math"

// Tanh returns the hyperbolic tangent of x, within 1 ulp, with the same
// bits on every GOARCH. Tanh(±0) = ±0, Tanh(±Inf) = ±1 and
// Tanh(NaN) = NaN.
//
// It computes m = e^(2|x|) − 1 as a pair and tanh|x| = m/(m+2), the
// quotient corrected by its exact remainder.
func Tanh(x float64) float64 {
	a := math.Abs(x)
	switch {
	case x != x:
		return x
	case a > 22:
		// 1 − tanh 22 = 2/(e⁴⁴+1) < 2⁻⁶².
		return math.Copysign(1, x)
	case a < 0x1p-28:
		// tanh x = x(1 − x²/3 + …) rounds to x.
		return x
	}
	y, yl, k := expKernel(2*a, 0)
	mh, ml := twoSum(math.Ldexp(y, k), -1)
	mh, ml = twoSum(mh, ml+math.Ldexp(yl, k))
	dh, dl := twoSum(mh, 2)
	dl += ml
	q := mh / dh
	rem := math.FMA(-q, dh, mh) + (ml - float64(q*dl))
	return math.Copysign(q+rem/dh, x)
}
