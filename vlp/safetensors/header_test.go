package safetensors

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestReadHeaderAgreesWithParse reads the header of every fixture file
// alone and checks it against the whole file parsed: the same tensors in
// the same order, each at the offset where Parse found its data.
func TestReadHeaderAgreesWithParse(t *testing.T) {
	for _, name := range fixtureFiles {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Entries) != len(f.Tensors) || len(h.Metadata) != len(f.Metadata) {
				t.Fatalf("%d entries and %d metadata keys, want %d and %d", len(h.Entries), len(h.Metadata), len(f.Tensors), len(f.Metadata))
			}
			for i, e := range h.Entries {
				want := f.Tensors[i]
				got := data[e.Offset : e.Offset+e.Size]
				if e.Name != want.Name || e.DType != want.DType || !slices.Equal(e.Shape, want.Shape) || !bytes.Equal(got, want.Data) {
					t.Errorf("entry %d: %s %v %v at %d, want %s %v %v", i, e.Name, e.DType, e.Shape, e.Offset, want.Name, want.DType, want.Shape)
				}
			}
		})
	}
}

// TestReadHeaderErrors checks that ReadHeader refuses what Parse refuses,
// reading only the header: a file cut short in its data is caught by the
// offsets.
func TestReadHeaderErrors(t *testing.T) {
	data := readFixture(t, "vit/model.safetensors")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"no length", data[:4], "truncated file"},
		{"cut in the header", data[:20], "exceeds the"},
		{"cut in the data", data[:len(data)-1], "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHeader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if _, perr := Parse(tt.data); perr == nil {
				t.Errorf("Parse accepts what ReadHeader refuses (%v)", err)
			}
		})
	}
}
