package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// canonicalLengths are the vector lengths the same-bits tests run: every
// tail of a 16-element block, AVX2's half blocks, and long vectors.
var canonicalLengths = []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 63, 64, 65, 100, 768, 777, 4099}

// wideFloats returns n values of random sign spread over six decades, so
// that sums in another order round differently.
func wideFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * math.Pow(10, 3*rng.Float64()-1.5))
	}
	return x
}

// sameBitsAcrossISAs runs f under every supported ISA and fails when any
// result's bits differ from the first ISA's.
func sameBitsAcrossISAs(t *testing.T, f func() []float32) {
	t.Helper()
	var ref []float32
	var refISA ISA
	for _, isa := range Supported() {
		prev, err := Use(isa)
		if err != nil {
			t.Fatal(err)
		}
		got := f()
		Use(prev)
		if ref == nil {
			ref, refISA = got, isa
			continue
		}
		if len(got) != len(ref) {
			t.Fatalf("%v: %d results, %v: %d", isa, len(got), refISA, len(ref))
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
				t.Errorf("%v: result %d of %d is %g (%#08x), %v gives %g (%#08x)",
					isa, i, len(got), got[i], math.Float32bits(got[i]), refISA, ref[i], math.Float32bits(ref[i]))
				break
			}
		}
	}
}

// TestReductionsSameBitsAcrossISAs checks that every reduction kernel sums
// in the canonical order on every ISA (16 interleaved partial sums combined
// by halving), whatever the length.
func TestReductionsSameBitsAcrossISAs(t *testing.T) {
	ops := []struct {
		name string
		f    func(x, y, z []float32) []float32
	}{
		{"sum", func(x, _, _ []float32) []float32 { return []float32{elt().sum(x)} }},
		{"dot", func(x, y, _ []float32) []float32 { return []float32{elt().dot(x, y)} }},
		{"sumSqDev", func(x, _, _ []float32) []float32 { return []float32{elt().sumSqDev(x, 0.37)} }},
		{"normBackwardSums", func(x, y, z []float32) []float32 {
			dg, db := append([]float32(nil), z...), append([]float32(nil), y...)
			sg, sgx := elt().normBackwardSums(dg, db, y, x, z, 0.1, 1.3)
			return append(append([]float32{sg, sgx}, dg...), db...)
		}},
	}
	rng := rand.New(rand.NewPCG(16, 16))
	for _, n := range canonicalLengths {
		x, y, z := wideFloats(rng, n), wideFloats(rng, n), wideFloats(rng, n)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s/n=%d", op.name, n), func(t *testing.T) {
				sameBitsAcrossISAs(t, func() []float32 { return op.f(x, y, z) })
			})
		}
	}
}
