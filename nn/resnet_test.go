package nn

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// TestModifiedResNetRecyclesActivations checks that an inference pass of a
// ResNet tower recycles its activations: it allocates less than half the
// bytes of the same pass on an input that is not an inference tensor
// (which recycles nothing). Every inference pass, the first (nothing to
// reuse) and the later ones (reused storage), gives the same features bit
// for bit, close to those of the plain pass (whose attention pool is not
// folded), and with a Tap the same activations as the plain pass.
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
			var want, wantPlain []float32
			var wantTaps [][]float32
			for pass := range 3 {
				taps = nil
				y, bytes := allocated(func() *tensor.Tensor { return m.Forward(images) })
				if pass == 0 {
					wantPlain = y.Values()
					for _, x := range taps {
						wantTaps = append(wantTaps, x.Values())
					}
				}
				if pass == 0 || bytes < plain { // the least of the passes
					plain = bytes
				}
				taps = nil
				y, bytes = allocated(func() *tensor.Tensor { return m.Forward(images.Inference()) })
				if pass == 0 {
					want = y.Values()
					if err := tensortest.Close(y, tensor.New(wantPlain, y.Shape()...), 1e-6, 1e-5); err != nil {
						t.Errorf("features: %v", err)
					}
				}
				sameBits(t, "features", y.Values(), want)
				for i, x := range taps {
					sameBits(t, "tap", x.Values(), wantTaps[i])
				}
				if pass == 0 || bytes < recycled {
					recycled = bytes
				}
			}
			if !raceEnabled && recycled >= plain/2 {
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

// TestAttentionPoolFolded checks the inference path of AttentionPool2d,
// which folds the key and value projections into the query and the output:
// its features are close to those of the projections applied to every
// token, the same bit for bit on every ISA and thread count, and, with
// many tokens per head, allocated without the projections of every token.
func TestAttentionPoolFolded(t *testing.T) {
	tests := []struct {
		name                      string
		n, spatial, d, heads, out int
		noBias                    bool
		fewerBytes                bool
	}{
		{"2x2", 1, 2, 16, 2, 8, false, false},
		{"3x3 batch 3", 3, 3, 32, 4, 16, false, false},
		{"7x7 no bias", 2, 7, 64, 8, 32, true, true},
		{"7x7", 2, 7, 64, 4, 32, false, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAttentionPool2d(tensor.NewRNG(uint64(10+i)), tt.spatial, tt.d, tt.heads, tt.out)
			if tt.noBias {
				a.KProj.Bias, a.VProj.Bias = nil, nil
			}
			x := tensor.RandN(tensor.NewRNG(uint64(20+i)), tt.n, tt.d, tt.spatial, tt.spatial)
			plain, plainBytes := allocated(func() *tensor.Tensor { return a.Forward(x) })
			folded, foldedBytes := allocated(func() *tensor.Tensor { return a.Forward(x.Inference()) })
			if err := tensortest.Close(folded, plain, 1e-6, 1e-5); err != nil {
				t.Errorf("folded against projected: %v", err)
			}
			// The projections' outputs alone are 2·N·L·D floats; the fold
			// must save at least half of them.
			tokens := uint64(tt.n * (tt.spatial*tt.spatial + 1) * tt.d)
			if tt.fewerBytes && foldedBytes+4*tokens > plainBytes {
				t.Errorf("folded pass allocates %d bytes, projected %d; want %d less at least", foldedBytes, plainBytes, 4*tokens)
			}
			want := folded.Values()
			for _, isa := range kernels.Supported() {
				for _, threads := range []int{1, 2, 3} {
					prevISA, err := kernels.Use(isa)
					if err != nil {
						t.Fatal(err)
					}
					prevThreads := kernels.Threads()
					kernels.SetThreads(threads)
					got := a.Forward(x.Inference()).Values()
					kernels.SetThreads(prevThreads)
					kernels.Use(prevISA)
					sameBits(t, fmt.Sprintf("%v, %d threads", isa, threads), got, want)
				}
			}
		})
	}
}
