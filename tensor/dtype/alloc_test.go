//go:build !race

package dtype

import (
	"bytes"
	"testing"
)

// TestReadFloat32ReusesItsBuffer reads tensors of every element type that
// needs a conversion buffer, one after another as a checkpoint's loader
// does: once warm, ReadFloat32 must allocate nothing. (The race detector
// makes sync.Pool drop buffers at random, hence the build constraint.)
func TestReadFloat32ReusesItsBuffer(t *testing.T) {
	for _, d := range []DType{Float16, BFloat16, Float64, Int64, Uint8} {
		n := 3*chunkBytes/d.Size() + 7
		src := make([]byte, n*d.Size())
		dst := make([]float32, n)
		r := bytes.NewReader(src)
		allocs := testing.AllocsPerRun(10, func() {
			r.Reset(src)
			if err := ReadFloat32(r, dst, d); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v × %d: %v allocations per read, want 0", d, n, allocs)
		}
	}
}
