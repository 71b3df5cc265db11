package nn

import (
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestVisionTransformerRecyclesActivations checks that an inference pass
// of a ViT tower recycles its blocks' activations: it allocates less than
// half the bytes of the same pass on an input that is not an inference
// tensor. Every inference pass, the first (nothing to reuse) and the later
// ones (reused storage), gives the features of the plain pass bit for bit,
// and with a Tap the same block outputs, none of them overwritten by a
// later block.
func TestVisionTransformerRecyclesActivations(t *testing.T) {
	for _, tap := range []bool{false, true} {
		name := map[bool]string{false: "untapped", true: "tapped"}[tap]
		t.Run(name, func(t *testing.T) {
			m := NewVisionTransformer(tensor.NewRNG(5), ViTConfig{Resolution: 32, Patch: 8, Width: 32, Layers: 3, Heads: 2, Embed: 8})
			SetTraining(m, false)
			for _, p := range Params(m) {
				p.SetRequiresGrad(false)
			}
			var taps []*tensor.Tensor
			if tap {
				m.Tap = func(_ string, x *tensor.Tensor) { taps = append(taps, x) }
			}
			images := tensor.RandN(tensor.NewRNG(6), 2, 3, 32, 32)
			var plain, recycled uint64
			var want []float32
			var wantTaps [][]float32
			for pass := range 3 {
				taps = nil
				y, bytes := allocated(func() *tensor.Tensor { return m.Forward(images) })
				if pass == 0 {
					want = y.Values()
					for _, x := range taps {
						wantTaps = append(wantTaps, x.Values())
					}
				}
				if pass == 0 || bytes < plain {
					plain = bytes
				}
				taps = nil
				y, bytes = allocated(func() *tensor.Tensor { return m.Forward(images.Inference()) })
				sameBits(t, "features", y.Values(), want)
				if len(taps) != len(wantTaps) {
					t.Fatalf("%d taps, want %d", len(taps), len(wantTaps))
				}
				for i, x := range taps {
					sameBits(t, "tap", x.Values(), wantTaps[i])
				}
				if pass == 0 || bytes < recycled {
					recycled = bytes
				}
			}
			if !raceEnabled && !tap && recycled >= plain/2 {
				t.Errorf("an inference pass allocates %d bytes, the same pass without recycling %d; want less than half", recycled, plain)
			}
		})
	}
}
