package dtype

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
)

// halfRef computes the value of binary16 bits h in float64 from the format's
// definition, independently of HalfToFloat32's bit manipulation.
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := HalfToFloat32(h)
		want := halfRef(h)
		if math.IsNaN(want) {
			b := math.Float32bits(got)
			// Quiet, with the sign and the payload in the top mantissa bits.
			if !math.IsNaN(float64(got)) || b>>31 != uint32(h>>15) || b&0x7fffff != 1<<22|uint32(h&0x3ff)<<13 {
				t.Fatalf("HalfToFloat32(%#04x) = %#08x, want a quiet NaN with sign %d and payload %#x", h, b, h>>15, h&0x3ff)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("HalfToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

// TestToFloat32HalfEveryISA converts all 65536 binary16 values with
// ToFloat32, which runs the kernels' conversion (VCVTPH2PS on AVX2 and
// AVX-512), on every ISA this CPU runs, and compares the bits with
// HalfToFloat32's, NaN payloads included.
func TestToFloat32HalfEveryISA(t *testing.T) {
	src := make([]byte, 2<<16)
	for i := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*i:], uint16(i))
	}
	for _, isa := range kernels.Supported() {
		prev, err := kernels.Use(isa)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, 1<<16)
		ToFloat32(dst, src, Float16)
		kernels.Use(prev)
		for i, got := range dst {
			if want := HalfToFloat32(uint16(i)); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%v: %#04x gives %#08x, HalfToFloat32 %#08x", isa, i, math.Float32bits(got), math.Float32bits(want))
			}
		}
	}
}

func bf16Ref(b uint16) float64 {
	sign := 1.0
	if b&0x8000 != 0 {
		sign = -1
	}
	exp := int(b>>7) & 0xff
	mant := float64(b & 0x7f)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -133)
	case 0xff:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+mant/128, exp-127)
}

func TestBFloat16ToFloat32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		b := uint16(i)
		got := BFloat16ToFloat32(b)
		want := bf16Ref(b)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Float32bits(got)>>16 != uint32(b) {
				t.Fatalf("BFloat16ToFloat32(%#04x) = %#08x, want NaN %#04x0000", b, math.Float32bits(got), b)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("BFloat16ToFloat32(%#04x) = %v, want %v", b, got, want)
		}
	}
}

// nearest returns which of the adjacent encodings lo and hi (lo < hi in
// magnitude, values vlo < vhi) is nearest to x, ties to the even encoding.
func nearest(x, vlo, vhi float64, lo, hi uint16) uint16 {
	dl, dh := math.Abs(x-vlo), math.Abs(vhi-x)
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

// TestFloat32ToHalfRounding checks, for every pair of adjacent non-negative
// binary16 values, the round trip of both, the exact midpoint (a tie) and the
// float32 neighbours of the midpoint, in both signs.
func TestFloat32ToHalfRounding(t *testing.T) {
	for i := 0; i < 0x7c00; i++ {
		lo, hi := uint16(i), uint16(i+1)
		vlo, vhi := halfRef(lo), halfRef(hi)
		if hi == 0x7c00 {
			vhi = 65536 // the next value the exponent range would have
		}
		mid := float32((vlo + vhi) / 2) // exact: needs one more bit than binary16
		cases := []float32{
			float32(vlo),
			mid,
			math.Nextafter32(mid, 0),
			math.Nextafter32(mid, float32(math.Inf(1))),
		}
		for _, x := range cases {
			want := nearest(float64(x), vlo, vhi, lo, hi)
			if x == float32(vlo) {
				want = lo
			}
			if got := Float32ToHalf(x); got != want {
				t.Fatalf("Float32ToHalf(%v) = %#04x, want %#04x", x, got, want)
			}
			if got := Float32ToHalf(-x); got != want|0x8000 {
				t.Fatalf("Float32ToHalf(%v) = %#04x, want %#04x", -x, got, want|0x8000)
			}
		}
	}
}

func TestFloat32ToHalfSpecial(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"+inf", float32(math.Inf(1)), 0x7c00},
		{"-inf", float32(math.Inf(-1)), 0xfc00},
		{"max", 65504, 0x7bff},
		{"overflow", 1e6, 0x7c00},
		{"just below overflow threshold", 65519.99, 0x7bff},
		{"overflow threshold ties up", 65520, 0x7c00},
		{"smallest subnormal", 0x1p-24, 0x0001},
		{"half smallest subnormal ties to zero", 0x1p-25, 0x0000},
		{"above half smallest subnormal", 0x1.000002p-25, 0x0001},
		{"float32 subnormal", math.SmallestNonzeroFloat32, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Float32ToHalf(tt.in); got != tt.want {
				t.Errorf("Float32ToHalf(%v) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
	nan := Float32ToHalf(float32(math.NaN()))
	if nan&0x7c00 != 0x7c00 || nan&0x3ff == 0 {
		t.Errorf("Float32ToHalf(NaN) = %#04x, want a NaN", nan)
	}
	// A NaN whose payload sits only in the low float32 bits must stay NaN.
	low := Float32ToHalf(math.Float32frombits(0x7f800001))
	if low&0x7c00 != 0x7c00 || low&0x3ff == 0 {
		t.Errorf("Float32ToHalf(NaN 0x7f800001) = %#04x, want a NaN", low)
	}
}

func TestFloat32ToBFloat16Rounding(t *testing.T) {
	for i := 0; i < 0x7f80; i++ {
		lo, hi := uint16(i), uint16(i+1)
		vlo, vhi := bf16Ref(lo), bf16Ref(hi)
		if hi == 0x7f80 {
			vhi = math.Ldexp(1, 128) // rounds to infinity, like binary16's 65536
		}
		mid := float32((vlo + vhi) / 2)
		for _, x := range []float32{float32(vlo), mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1)))} {
			want := nearest(float64(x), vlo, vhi, lo, hi)
			if x == float32(vlo) {
				want = lo
			}
			if got := Float32ToBFloat16(x); got != want {
				t.Fatalf("Float32ToBFloat16(%v) = %#04x, want %#04x", x, got, want)
			}
		}
	}
	if got := Float32ToBFloat16(math.Float32frombits(0x7f800001)); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("Float32ToBFloat16(NaN) = %#04x, want a NaN", got)
	}
}
