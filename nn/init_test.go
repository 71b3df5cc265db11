package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestNilRNGLeavesWeightsZero builds each model with two seeds and with a
// nil rng: every tensor that the seed changes (a drawn weight) must be
// zero without an rng, and every other tensor (LayerNorm's ones, zero
// biases, BatchNorm statistics) the same as with a seed.
func TestNilRNGLeavesWeightsZero(t *testing.T) {
	models := []struct {
		name string
		make func(rng *rand.Rand) Module
	}{
		{"ViT", func(rng *rand.Rand) Module {
			return NewVisionTransformer(rng, ViTConfig{Resolution: 16, Patch: 8, Width: 16, Layers: 2, Heads: 2, Embed: 8})
		}},
		{"ModifiedResNet", func(rng *rand.Rand) Module {
			return NewModifiedResNet(rng, ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 8, Resolution: 32, Heads: 2, Embed: 8})
		}},
		{"Transformer", func(rng *rand.Rand) Module { return NewTransformer(rng, 16, 2, 2) }},
		{"Embedding", func(rng *rand.Rand) Module { return NewEmbedding(rng, 10, 4) }},
		{"Conv2d with bias", func(rng *rand.Rand) Module { return NewConv2d(rng, 3, 4, 3, 1, 1, true) }},
		{"Linear", func(rng *rand.Rand) Module { return NewLinear(rng, 5, 3, true) }},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			a, b := StateDict(m.make(tensor.NewRNG(1))), StateDict(m.make(tensor.NewRNG(2)))
			none := StateDict(m.make(nil))
			drawn := 0
			for name, x := range a {
				got := none[name]
				if got == nil || !slices.Equal(got.Shape(), x.Shape()) {
					t.Fatalf("%s: nil rng gives %v, want shape %v", name, got, x.Shape())
				}
				want := x.Values()
				if !slices.Equal(want, b[name].Values()) {
					drawn++
					want = make([]float32, len(want))
				}
				if !slices.Equal(got.Values(), want) {
					t.Errorf("%s: nil rng gives %v, want %v", name, got.Values(), want)
				}
			}
			if drawn == 0 {
				t.Fatal("no tensor depends on the seed: the test checks nothing")
			}
		})
	}
}
