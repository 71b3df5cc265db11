package detmath

import "math"

const (
	// ln2Hi is ln 2 cut to 24 bits, so k·ln2Hi is exact for |k| < 2^29;
	// ln2Lo is the rest, rounded when it is used.
	ln2Hi = 11629079.0 / (1 << 24)
	ln2Lo = math.Ln2 - ln2Hi

	// Beyond these bounds eˣ overflows or rounds to zero; between them and
	// the exact thresholds math.Ldexp rounds the result.
	expMax = 709.79
	expMin = -745.14
)

// expCoef holds 1/n! for n = 2…13: eʳ = 1 + r + r²·Σ expCoef[i]·rⁱ, whose
// truncation error for |r| ≤ ln2/2 is below 2⁻⁵⁷ of the result.
var expCoef = []float64{
	1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
	1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
	1.0 / 479001600, 1.0 / 6227020800,
}

// Exp returns eˣ, within 1 ulp, with the same bits on every GOARCH.
// Exp(+Inf) = +Inf, Exp(−Inf) = 0 and Exp(NaN) = NaN; results beyond the
// float64 range overflow to +Inf or round to 0 or a subnormal.
func Exp(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return math.Inf(1)
	case x < expMin:
		return 0
	}
	y, yl, k := expKernel(x, 0)
	return math.Ldexp(y+yl, k)
}

// expKernel returns y, yl and k with e^(hi+lo) = (y+yl)·2^k to about
// 2⁻⁶⁰ relative and |yl| ≤ ulp(y)/2, for |hi| ≤ 746 and |lo| ≤ ulp(hi).
// It writes hi+lo as k·ln2 + r with |r| ≤ ln2/2 and r = rh+rl,
// |rl| ≤ ulp(rh)/2, and evaluates eʳ = 1 + rh + rh²·P(rh) + rl·(1+rh).
func expKernel(hi, lo float64) (y, yl float64, k int) {
	kf := math.RoundToEven(float64(hi * math.Log2E))
	a := hi - float64(kf*ln2Hi) // exact: kf·ln2Hi is, and a is near it
	rh, rl := twoSum(a, lo-float64(kf*ln2Lo))
	t := float64(float64(rh*rh) * horner(rh, expCoef))
	t += float64(rl * (1 + rh))
	y, yl = fastTwoSum(1, rh)
	y, yl = fastTwoSum(y, yl+t)
	return y, yl, int(kf)
}
