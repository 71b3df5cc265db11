package dtype

import (
	"encoding/binary"
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
