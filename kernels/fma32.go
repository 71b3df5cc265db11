package kernels

import "math"

// fma32 returns x*y + z computed with a single rounding, as the hardware's
// float32 fused multiply-add (VFMADD…PS, FMADD S) does, on every platform.
//
// math.FMA works on float64, and rounding its float64 result to float32
// rounds twice, which differs from one rounding when the first lands on a
// float32 midpoint. Instead the float64 product of two float32s is exact (48
// significant bits), the sum is rounded to odd (rounded to nearest, then,
// when inexact, moved to whichever neighbour has an odd significand), and
// the float64 rounded to odd has 29 bits more than a float32, so rounding
// it to float32 gives the correctly rounded result.
func fma32(x, y, z float32) float32 {
	p, w := float64(x)*float64(y), float64(z)
	s := p + w
	// TwoSum: e is the rounding error of p + w, exactly; it is NaN when an
	// operand is infinite or NaN (p and w themselves never overflow).
	pp := s - w
	e := (p - pp) + (w - (s - pp))
	if b := math.Float64bits(s); e != 0 && e == e && b&1 == 0 {
		// The exact sum lies strictly between s and its neighbour towards
		// e, whose significand is odd.
		if (e > 0) == (s > 0) {
			b++
		} else {
			b--
		}
		s = math.Float64frombits(b)
	}
	return float32(s)
}
