//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFMA32Hardware holds fma32 to the CPU's VFMADD: affine's assembly
// computes alpha*x + beta with one fused multiply-add per element.
func TestFMA32Hardware(t *testing.T) {
	if !supports(AVX2) {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 64))
	var dst [1]float32
	for _, c := range fma32Cases(rng, 50000) {
		x, y, z := c[0], c[1], c[2]
		affineAVX2(dst[:], x, []float32{y}, z)
		got := fma32(x, y, z)
		if math.Float32bits(got) != math.Float32bits(dst[0]) && !(got != got && dst[0] != dst[0]) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#08x), VFMADD gives %g (%#08x)",
				x, y, z, got, math.Float32bits(got), dst[0], math.Float32bits(dst[0]))
		}
	}
}
