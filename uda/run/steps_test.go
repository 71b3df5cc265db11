package run

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/vlp"
)

// tinyTeacher saves a random tiny model in the teacher's format.
func tinyTeacher(t *testing.T) string {
	t.Helper()
	c := vlp.Config{EmbedDim: 16, ImageResolution: 32, VisionLayers: []int{1}, VisionWidth: 64, VisionPatchSize: 16,
		ContextLength: pretrain.ContextLength, VocabSize: 49408, TransformerWidth: 16, TransformerHeads: 1, TransformerLayers: 1}
	m, err := vlp.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "teacher.safetensors")
	if err := pretrain.Save(path, m, nil, false); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStepMeter checks the quantiles of the tower's per-step moves on a
// tiny model whose elements are moved by known amounts.
func TestStepMeter(t *testing.T) {
	m, _, err := pretrain.Load(tinyTeacher(t))
	if err != nil {
		t.Fatal(err)
	}
	s := newStepMeter(m)
	n := 0
	for _, p := range s.tower {
		n += p.Tensor.Numel()
	}
	// Element k moves by 1e-6 if k is even, 1e-3 if k%10 == 1, else not.
	k := 0
	for _, p := range s.tower {
		d := p.Tensor.Data()
		for i := range d {
			switch {
			case k%2 == 0:
				d[i] += 1e-6
			case k%10 == 1:
				d[i] += 1e-3
			}
			k++
		}
	}
	s.observe()
	got := s.result()
	if got.Steps != 1 {
		t.Errorf("steps %d, want 1", got.Steps)
	}
	// float32 rounding makes the small moves inexact; the bins are 12 % wide.
	within := func(name string, v, lo, hi float64) {
		if v < lo || v > hi {
			t.Errorf("%s = %g, want in [%g, %g]", name, v, lo, hi)
		}
	}
	within("zero", got.Zero, 0.35, 0.45) // 40 % of the elements do not move
	within("p50", got.P50, 1e-7, 1e-5)   // the median is a small move
	within("p99", got.P99, 8e-4, 1.3e-3) // the top 10 % moved 1e-3
	within("max", got.Max, 9e-4, 1.1e-3)
}

// TestStepBinLookup checks the edge search and the table against the
// logarithm they replace, on log-uniform moves and on the floats either
// side of every edge and bucket boundary.
func TestStepBinLookup(t *testing.T) {
	table := stepLookup()
	edges := table.edges
	check := func(d float64) {
		want := stepBin(d)
		if got := searchStepBin(edges, d); got != want {
			t.Fatalf("searchStepBin(%g) = %d, stepBin = %d", d, got, want)
		}
		if got := table.bin(d); got != want {
			t.Fatalf("stepTable.bin(%g) = %d, stepBin = %d", d, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(math.Pow(10, -15+18*r.Float64()))
	}
	for _, e := range edges {
		check(e)
		check(math.Nextafter(e, 0))
		check(math.Nextafter(e, math.Inf(1)))
	}
	for i := range table.first {
		least := math.Float64frombits((table.keyLo + uint64(i)) << stepKeyShift)
		check(least)
		check(math.Nextafter(least, 0))
	}
	for _, d := range []float64{math.SmallestNonzeroFloat64, 1e-300, 1e-12, 10, 1e300, math.MaxFloat64} {
		check(d)
	}
}
