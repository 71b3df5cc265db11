package dtype

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

func TestParseString(t *testing.T) {
	for d := Float64; d <= Bool; d++ {
		got, err := Parse(d.String())
		if err != nil || got != d {
			t.Errorf("Parse(%q) = %v, %v; want %v", d.String(), got, err, d)
		}
	}
	if _, err := Parse("F8_E4M3"); err == nil {
		t.Error("Parse(F8_E4M3) succeeded, want error")
	}
}

func TestToFloat32(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		d    DType
		src  []byte
		want []float32
	}{
		{Float64, le.AppendUint64(le.AppendUint64(nil, math.Float64bits(1.5)), math.Float64bits(-1e300)), []float32{1.5, float32(math.Inf(-1))}},
		{Float32, le.AppendUint32(nil, math.Float32bits(3.25)), []float32{3.25}},
		{Float16, le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xc000), []float32{1, -2}},
		{BFloat16, le.AppendUint16(nil, 0x3f80), []float32{1}},
		{Int64, le.AppendUint64(nil, uint64(0xffffffffffffffff)), []float32{-1}},
		{Int32, le.AppendUint32(nil, 77), []float32{77}},
		{Int16, le.AppendUint16(nil, 0xfffe), []float32{-2}},
		{Int8, []byte{0x80}, []float32{-128}},
		{Uint64, le.AppendUint64(nil, 49408), []float32{49408}},
		{Uint32, le.AppendUint32(nil, 0xffffffff), []float32{4294967296}},
		{Uint16, le.AppendUint16(nil, 0xffff), []float32{65535}},
		{Uint8, []byte{255}, []float32{255}},
		{Bool, []byte{0, 1, 7}, []float32{0, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := make([]float32, len(tt.want))
			ToFloat32(got, tt.src, tt.d)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("element %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestToFloat32Panics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("ToFloat32 with a short source did not panic")
		}
	}()
	ToFloat32(make([]float32, 2), make([]byte, 7), Float32)
}

// TestReadFloat32 decodes through ReadFloat32 in sizes around its chunk
// and compares with ToFloat32 on the whole input; an input that ends early
// is an error.
func TestReadFloat32(t *testing.T) {
	for _, d := range []DType{Float32, Float16, BFloat16, Int64, Uint8} {
		for _, n := range []int{0, 1, chunkBytes/d.Size() - 1, chunkBytes / d.Size(), 3*chunkBytes/d.Size() + 7} {
			src := make([]byte, n*d.Size())
			for i := range src {
				src[i] = byte(i*7 + i>>8)
			}
			want := make([]float32, n)
			ToFloat32(want, src, d)
			got := make([]float32, n)
			if err := ReadFloat32(bytes.NewReader(src), got, d); err != nil {
				t.Fatalf("%v × %d: %v", d, n, err)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v × %d: [%d] = %v, want %v", d, n, i, got[i], want[i])
				}
			}
			if n > 0 {
				err := ReadFloat32(bytes.NewReader(src[:len(src)-1]), got, d)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("%v × %d from a short input: error %v, want io.ErrUnexpectedEOF", d, n, err)
				}
			}
		}
	}
	if err := ReadFloat32(bytes.NewReader(nil), nil, Invalid); err == nil {
		t.Error("ReadFloat32 accepts an invalid dtype")
	}
}
