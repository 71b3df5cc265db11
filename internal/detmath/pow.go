package detmath

import "math"

// Pow returns xʸ, within 1 ulp, with the same bits on every GOARCH. Its
// special cases are those of math.Pow: Pow(x, ±0) = 1 and Pow(1, y) = 1
// for any x and y (NaN too); a negative x needs an integer y (NaN
// otherwise) and gives a negative result for an odd one; Pow(±0, y) is ±0
// or ±Inf by the sign of y and whether y is an odd integer; Pow(x, ±Inf)
// is 0, 1 or +Inf by |x| against 1; Pow(−Inf, y) = Pow(−0, −y).
//
// It computes e^(y·log|x|) with log|x| and the product in double-double,
// so large exponents cost no accuracy.
func Pow(x, y float64) float64 {
	switch {
	case y == 0 || x == 1:
		return 1
	case y == 1:
		return x
	case x != x || y != y:
		return math.NaN()
	case x == 0:
		return powZero(x, y)
	case math.IsInf(y, 0):
		switch {
		case x == -1:
			return 1
		case (math.Abs(x) < 1) == (y > 0):
			return 0
		}
		return math.Inf(1)
	case math.IsInf(x, -1):
		return powZero(math.Copysign(0, -1), -y)
	case math.IsInf(x, 1):
		if y < 0 {
			return 0
		}
		return x
	}
	sign := 1.0
	if x < 0 {
		if y != math.Trunc(y) {
			return math.NaN()
		}
		if isOddInt(y) {
			sign = -1
		}
		x = -x
	}
	lh, ll := logDD(x)
	ph, pl := twoProd(y, lh)
	switch {
	case ph > expMax:
		return sign * math.Inf(1)
	case ph < expMin:
		return sign * 0
	}
	pl += float64(y * ll)
	ph, pl = fastTwoSum(ph, pl)
	h, l, k := expKernel(ph, pl)
	return sign * math.Ldexp(h+l, k)
}

// powZero returns Pow(x, y) for x = ±0 and y ≠ 0, y not NaN.
func powZero(x, y float64) float64 {
	switch {
	case y < 0 && isOddInt(y):
		return math.Copysign(math.Inf(1), x)
	case y < 0:
		return math.Inf(1)
	case isOddInt(y):
		return x
	}
	return 0
}

// isOddInt reports whether y is an odd integer. Every float64 of magnitude
// 2⁵³ or more is even.
func isOddInt(y float64) bool {
	if math.Abs(y) >= 1<<53 || y != math.Trunc(y) {
		return false
	}
	return int64(y)&1 == 1
}
