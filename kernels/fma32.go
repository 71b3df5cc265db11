package kernels

import "math"

// fma32 returns x*y + z computed with a single rounding, as the hardware's
// float32 fused multiply-add (VFMADD…PS, FMADD S) does, on every platform.
//
// The float64 product of two float32s is exact (48 significant bits), so
// x*y + z in float64 rounds once, to s. Rounding s to float32 rounds a
// second time, which is only wrong when s lands exactly on a float32
// midpoint (or in the float32 subnormals, whose midpoints lie elsewhere):
// on either side of a midpoint the exact sum and s round alike. Those rare
// cases take fma32Odd; a zero s is exact.
func fma32(x, y, z float32) float32 {
	// Fused or not (arm64 may fuse it), the float64 sum rounds only once.
	s := float64(x)*float64(y) + float64(z)
	b := math.Float64bits(s)
	if b&(1<<29-1) != 1<<28 && (b&(0x7ff<<52) >= (1023-126)<<52 || s == 0) {
		return float32(s)
	}
	return fma32Odd(x, y, z)
}

// fma32Odd returns x*y + z rounded once to float32 by rounding the float64
// sum to odd (rounded to nearest, then, when inexact, moved to whichever
// neighbour has an odd significand): a float64 rounded to odd has 29 bits
// more than a float32, so rounding it to float32 gives the correctly
// rounded result.
func fma32Odd(x, y, z float32) float32 {
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
