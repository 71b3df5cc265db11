package dtype

import (
	"math"

	"github.com/vlpuda/vlpuda/kernels"
)

// HalfToFloat32 returns the IEEE 754 binary16 value with bits h as a float32.
// Every binary16 value is exactly representable in float32, so the result is
// exact; NaNs keep their sign and payload (shifted into the top mantissa
// bits) and come out quiet, as the CPU's conversion makes them. It is
// kernels.HalfBitsToFloat32; ToFloat32 converts many with
// kernels.HalfToFloat32, which gives the same bits.
func HalfToFloat32(h uint16) float32 { return kernels.HalfBitsToFloat32(h) }

// Float32ToHalf returns the binary16 bits nearest to f, rounding ties to
// even. Values too large for binary16 become ±Inf, values too small become
// signed zero or a subnormal, and NaN stays NaN (its top payload bits kept,
// the quiet bit set).
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	// e is the unbiased binary16 exponent of f.
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal (or zero) result. The significand with its implicit bit is
		// shifted right by 14-e places: 13 for the narrower mantissa and 1-e
		// more for the subnormal scale.
		if e < -10 {
			// Below half the smallest subnormal: rounds to zero.
			return sign
		}
		return sign | uint16(roundShift(mant|0x800000, uint32(14-e)))
	}
	// Normal result. Rounding may carry into the exponent, and from the
	// largest finite value into infinity; both fall out of the addition.
	h := uint32(e)<<10 | mant>>13
	return sign | uint16(h+roundBit(mant, 13, h))
}

// roundShift returns m>>shift rounded to nearest, ties to even.
func roundShift(m, shift uint32) uint32 {
	q := m >> shift
	return q + roundBit(m, shift, q)
}

// roundBit returns 1 when the bits of m below position shift round the
// truncated value q up (more than half, or exactly half with q odd).
func roundBit(m, shift, q uint32) uint32 {
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		return 1
	}
	return 0
}

// BFloat16ToFloat32 returns the bfloat16 value with bits b as a float32. A
// bfloat16 is the top half of a float32, so the conversion is exact.
func BFloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// Float32ToBFloat16 returns the bfloat16 bits nearest to f, rounding ties to
// even. NaN stays NaN with the quiet bit set.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x0040
	}
	q := b >> 16
	return uint16(q + roundBit(b, 16, q))
}
