package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// halfRef converts the binary16 bits h by their definition, in float64:
// (-1)^s · 2^(e-15) · 1.m for normal values, 2^-14 · 0.m for subnormal
// ones; infinities stay infinite and a NaN becomes the quiet float32 NaN
// with the same sign and the payload in the top mantissa bits.
func halfRef(h uint16) uint32 {
	sign := uint32(h>>15) << 31
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return sign | 0x7f800000
	case e == 0x1f:
		return sign | 0x7fc00000 | uint32(h&0x3ff)<<13
	case e == 0:
		return sign | math.Float32bits(float32(math.Ldexp(m/1024, -14)))
	}
	return sign | math.Float32bits(float32(math.Ldexp(1+m/1024, e-15)))
}

// TestHalfToFloat32Exhaustive converts all 65536 binary16 values, NaNs
// with every payload included, on every ISA, at every position of a
// vector (the values run through offsets 0 to 16 of the slice, so each
// lands in the vector loops and in the Go tail): each must give exactly
// the bits of the definition.
func TestHalfToFloat32Exhaustive(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	src := halfBytes(all)
	forEachISA(t, func(t *testing.T) {
		for _, off := range []int{0, 1, 7, 8, 15, 16} {
			dst := newGuarded(len(all) - off)
			HalfToFloat32(dst.s(), src[2*off:])
			dst.check(t, "HalfToFloat32")
			for i, got := range dst.s() {
				h := all[off+i]
				if want := halfRef(h); math.Float32bits(got) != want {
					t.Fatalf("offset %d: %#04x gives %#08x, want %#08x", off, h, math.Float32bits(got), want)
				}
			}
		}
	})
}

// TestHalfToFloat32Lengths converts every length around the vector sizes
// on every ISA and checks that nothing past the end is written.
func TestHalfToFloat32Lengths(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, n := range testLengths() {
			hs := make([]uint16, n)
			for i := range hs {
				hs[i] = uint16(0x3c00 + 7*i) // 1.0 and up
			}
			dst := newGuarded(n)
			HalfToFloat32(dst.s(), halfBytes(hs))
			dst.check(t, "HalfToFloat32")
			for i, got := range dst.s() {
				if want := halfRef(hs[i]); math.Float32bits(got) != want {
					t.Fatalf("n=%d: [%d] %#04x gives %#08x, want %#08x", n, i, hs[i], math.Float32bits(got), want)
				}
			}
		}
	})
}

// halfBytes returns hs as little-endian bytes.
func halfBytes(hs []uint16) []byte {
	b := make([]byte, 0, 2*len(hs))
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint16(b, h)
	}
	return b
}
