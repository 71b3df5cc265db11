package kernels

import (
	"encoding/binary"
	"math"
)

// HalfToFloat32 converts the little-endian IEEE 754 binary16 values in src
// (two bytes each) to float32 in dst. Every binary16 value is exactly a
// float32, so the result is exact and the same on every ISA: the AVX2
// (F16C) and AVX-512 paths use the CPU's conversion, VCVTPH2PS, and the
// generic one computes the bits. A NaN keeps its sign and payload, shifted
// into the top of the float32 mantissa, and comes out quiet, as VCVTPH2PS
// makes it: a signalling NaN gains the quiet bit. It panics unless
// len(src) == 2*len(dst).
func HalfToFloat32(dst []float32, src []byte) {
	if len(src) != 2*len(dst) {
		panic("kernels: HalfToFloat32: src must hold two bytes per element of dst")
	}
	n := len(dst) &^ 15 // whole vectors on both ISAs
	elt().halfToFloat32(dst[:n], src[:2*n])
	halfToFloat32Generic(dst[n:], src[2*n:])
}

// halfToFloat32Generic is HalfToFloat32 in Go, for any length.
func halfToFloat32Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = HalfBitsToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// HalfBitsToFloat32 converts one binary16 value, with bits h, as
// HalfToFloat32 does.
func HalfBitsToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		// Zero or subnormal: mant·2⁻²⁴. The product of a small integer and a
		// power of two is exact in float32.
		f := float32(mant) * 0x1p-24
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f:
		if mant == 0 {
			return math.Float32frombits(sign | 0xff<<23) // infinity
		}
		return math.Float32frombits(sign | 0xff<<23 | 1<<22 | mant<<13) // quiet NaN
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
