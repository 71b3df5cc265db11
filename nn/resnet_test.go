package nn

import (
	"runtime"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestModifiedResNetRecyclesActivations checks that an inference pass of a
// ResNet tower recycles its activations: it allocates less than half the
// bytes of the same pass on an input that is not an inference tensor
// (which recycles nothing), and gives the same features bit for bit, with
// and without a Tap (whose activations are kept).
func TestModifiedResNetRecyclesActivations(t *testing.T) {
	tests := []struct {
		name string
		cfg  ResNetConfig
		tap  bool
	}{
		{"blocks 1", ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 16, Resolution: 64, Heads: 2, Embed: 8}, false},
		{"blocks 2", ResNetConfig{Layers: [4]int{2, 2, 2, 2}, Width: 8, Resolution: 64, Heads: 2, Embed: 8}, false},
		{"tapped", ResNetConfig{Layers: [4]int{2, 1, 1, 2}, Width: 8, Resolution: 64, Heads: 2, Embed: 8}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModifiedResNet(tensor.NewRNG(3), tt.cfg)
			SetTraining(m, false)
			for _, p := range Params(m) {
				p.SetRequiresGrad(false)
			}
			var taps []*tensor.Tensor
			if tt.tap {
				m.Tap = func(_ string, x *tensor.Tensor) { taps = append(taps, x) }
			}
			images := tensor.RandN(tensor.NewRNG(4), 2, 3, tt.cfg.Resolution, tt.cfg.Resolution)
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
				if pass == 0 || bytes < plain { // the least of the passes
					plain = bytes
				}
				taps = nil
				y, bytes = allocated(func() *tensor.Tensor { return m.Forward(images.Inference()) })
				sameBits(t, "features", y.Values(), want)
				for i, x := range taps {
					sameBits(t, "tap", x.Values(), wantTaps[i])
				}
				if pass == 0 || bytes < recycled {
					recycled = bytes
				}
			}
			if recycled >= plain/2 {
				t.Errorf("an inference pass allocates %d bytes, the same pass without recycling %d; want less than half", recycled, plain)
			}
		})
	}
}

// allocated returns f's result and the bytes it allocated.
func allocated(f func() *tensor.Tensor) (*tensor.Tensor, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	y := f()
	runtime.ReadMemStats(&after)
	return y, after.TotalAlloc - before.TotalAlloc
}
