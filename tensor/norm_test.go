package tensor_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// layerNormRef normalises the last dimension of x in float64; w and b may be nil.
func layerNormRef(x, w, b *tensor.Tensor, eps float64) *tensor.Tensor {
	shape := x.Shape()
	c := shape[len(shape)-1]
	xs := x.Values()
	out := make([]float64, len(xs))
	for r := 0; r < len(xs); r += c {
		var mu, v float64
		for _, e := range xs[r : r+c] {
			mu += float64(e)
		}
		mu /= float64(c)
		for _, e := range xs[r : r+c] {
			v += (float64(e) - mu) * (float64(e) - mu)
		}
		v /= float64(c)
		for j := range c {
			y := (float64(xs[r+j]) - mu) / math.Sqrt(v+eps)
			if w != nil {
				y *= float64(w.Values()[j])
			}
			if b != nil {
				y += float64(b.Values()[j])
			}
			out[r+j] = y
		}
	}
	return tensor.FromFloat64(out, shape...)
}

// batchNormRef is BatchNorm in float64 for x (N, C, …). With train set it uses
// the batch statistics and returns the updated running statistics
// (PyTorch's rule with the unbiased variance); otherwise it uses rm and rv.
func batchNormRef(x, w, b *tensor.Tensor, rm, rv []float64, train bool, momentum, eps float64) (y *tensor.Tensor, newRM, newRV []float64) {
	shape := x.Shape()
	n, c := shape[0], shape[1]
	sp := 1
	for _, s := range shape[2:] {
		sp *= s
	}
	xs := x.Values()
	at := func(i, ch, j int) int { return (i*c+ch)*sp + j }
	out := make([]float64, len(xs))
	newRM, newRV = append([]float64(nil), rm...), append([]float64(nil), rv...)
	for ch := range c {
		mu, v := rm[ch], rv[ch]
		if train {
			m := float64(n * sp)
			mu, v = 0, 0
			for i := range n {
				for j := range sp {
					mu += float64(xs[at(i, ch, j)])
				}
			}
			mu /= m
			for i := range n {
				for j := range sp {
					d := float64(xs[at(i, ch, j)]) - mu
					v += d * d
				}
			}
			v /= m
			newRM[ch] = (1-momentum)*rm[ch] + momentum*mu
			newRV[ch] = (1-momentum)*rv[ch] + momentum*v*m/(m-1)
		}
		for i := range n {
			for j := range sp {
				e := (float64(xs[at(i, ch, j)]) - mu) / math.Sqrt(v+eps)
				if w != nil {
					e *= float64(w.Values()[ch])
				}
				if b != nil {
					e += float64(b.Values()[ch])
				}
				out[at(i, ch, j)] = e
			}
		}
	}
	return tensor.FromFloat64(out, shape...), newRM, newRV
}

// widen64 returns xs converted to float64.
func widen64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

func TestLayerNormMatchesReference(t *testing.T) {
	tests := []struct {
		name    string
		x, w, b *tensor.Tensor
		eps     float32
	}{
		{"affine", randn(1, 3, 5), randn(2, 5), randn(3, 5), 1e-5},
		{"no-affine-3d", randn(4, 2, 3, 4), nil, nil, 1e-5},
		{"weight-only", randn(5, 4, 6), randn(6, 6), nil, 1e-6},
		{"bias-only", randn(7, 4, 6), nil, randn(8, 6), 1e-6},
		{"transposed-view", randn(9, 5, 3).T(), randn(10, 5), randn(11, 5), 1e-5},
		{"large-eps", randn(12, 2, 3), nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tensor.LayerNorm(tt.x, tt.w, tt.b, tt.eps)
			tensortest.AssertClose(t, got, layerNormRef(tt.x, tt.w, tt.b, float64(tt.eps)), 1e-5, 1e-5)
		})
	}
	t.Run("hand-computed", func(t *testing.T) {
		// Mean 2.5, biased variance 1.25.
		got := tensor.LayerNorm(tensor.FromFloat64([]float64{1, 2, 3, 4}, 1, 4), nil, nil, 0)
		s := 1 / math.Sqrt(1.25)
		tensortest.AssertClose(t, got, tensor.FromFloat64([]float64{-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}, 1, 4), 1e-6, 1e-6)
	})
}

func TestBatchNormMatchesReference(t *testing.T) {
	tests := []struct {
		name   string
		x      *tensor.Tensor
		affine bool
		train  bool
		eps    float32
	}{
		{"train-2d", randn(1, 5, 3), true, true, 1e-5},
		{"train-4d", randn(2, 2, 3, 2, 3), true, true, 1e-5},
		{"train-4d-no-affine", randn(3, 3, 2, 2, 2), false, true, 1e-5},
		{"train-3d", randn(4, 2, 3, 5), true, true, 1e-5},
		{"train-large-eps", randn(5, 3, 2), true, true, 0.5},
		{"eval-2d", randn(6, 4, 3), true, false, 1e-5},
		{"eval-4d", randn(7, 2, 3, 2, 2), true, false, 1e-5},
		{"eval-4d-no-affine", randn(8, 2, 3, 2, 2), false, false, 1e-5},
		{"eval-large-eps", randn(9, 2, 3), true, false, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.x.Dim(1)
			var w, b *tensor.Tensor
			if tt.affine {
				w, b = randn(20, c), randn(21, c)
			}
			rm := randn(22, c)
			rv := tensor.RandUniform(tensor.NewRNG(23), 0.5, 2, c)
			rm0, rv0 := widen64(rm.Values()), widen64(rv.Values())
			const momentum = 0.1
			got := tensor.BatchNorm(tt.x, w, b, rm, rv, tt.train, momentum, tt.eps)
			want, wantRM, wantRV := batchNormRef(tt.x, w, b, rm0, rv0, tt.train, momentum, float64(tt.eps))
			tensortest.AssertClose(t, got, want, 1e-5, 1e-5)
			tensortest.AssertClose(t, rm, tensor.FromFloat64(wantRM, c), 1e-6, 1e-6)
			tensortest.AssertClose(t, rv, tensor.FromFloat64(wantRV, c), 1e-6, 1e-6)
		})
	}
}

func TestBatchNormRunningStats(t *testing.T) {
	// Channel 0 holds 1, 2, 3, 4 over N=2 and 2 positions: mean 2.5, biased
	// variance 1.25, unbiased 5/3. Channel 1 is constant 7: variance 0.
	x := tensor.FromFloat64([]float64{
		1, 2, 7, 7, // sample 0: channel 0, channel 1
		3, 4, 7, 7, // sample 1
	}, 2, 2, 2)
	rm := tensor.FromFloat64([]float64{0, 1}, 2)
	rv := tensor.FromFloat64([]float64{1, 2}, 2)
	const momentum = 0.1
	y := tensor.BatchNorm(x, nil, nil, rm, rv, true, momentum, 0)
	tests := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"running-mean", rm, []float64{0.9*0 + 0.1*2.5, 0.9*1 + 0.1*7}},
		{"running-var", rv, []float64{0.9*1 + 0.1*5.0/3, 0.9 * 2}},
		{"output-channel-0", y.Select(1, 0).Flatten(), []float64{-1.5 / math.Sqrt(1.25), -0.5 / math.Sqrt(1.25), 0.5 / math.Sqrt(1.25), 1.5 / math.Sqrt(1.25)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.AssertClose(t, tt.got, tensor.FromFloat64(tt.want, len(tt.want)), 1e-6, 1e-6)
		})
	}
	t.Run("second-step", func(t *testing.T) {
		// A second call applies the rule again to the updated statistics.
		tensor.BatchNorm(x, nil, nil, rm, rv, true, momentum, 0)
		want := []float64{0.9*0.25 + 0.1*2.5, 0.9*(0.9+0.1*5.0/3) + 0.1*5.0/3}
		tensortest.AssertClose(t, tensor.New([]float32{rm.At(0), rv.At(0)}, 2), tensor.FromFloat64(want, 2), 1e-6, 1e-6)
	})
	t.Run("eval-leaves-stats", func(t *testing.T) {
		before := append(rm.Values(), rv.Values()...)
		tensor.BatchNorm(x, nil, nil, rm, rv, false, momentum, 1e-5)
		after := append(rm.Values(), rv.Values()...)
		for i := range before {
			if before[i] != after[i] {
				t.Fatalf("running stats changed in eval mode: %v -> %v", before, after)
			}
		}
	})
}

func TestGradNorm(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	rm, rv := randn(30, 3), tensor.RandUniform(tensor.NewRNG(31), 0.5, 2, 3)
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"layernorm-affine", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LayerNorm(in[0], in[1], in[2], 1e-5) },
			[]*tensor.Tensor{randn(1, 3, 5), randn(2, 5), randn(3, 5)}},
		{"layernorm-no-affine", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LayerNorm(in[0], nil, nil, 1e-5) },
			[]*tensor.Tensor{randn(4, 2, 3, 4)}},
		{"layernorm-transposed-view", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LayerNorm(in[0].T(), in[1], nil, 1e-5) },
			[]*tensor.Tensor{randn(5, 4, 3), randn(6, 4)}},
		{"batchnorm-train-2d", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(7, 4, 3), randn(8, 3), randn(9, 3)}},
		{"batchnorm-train-4d", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(10, 2, 3, 2, 2), randn(11, 3), randn(12, 3)}},
		{"batchnorm-train-no-affine", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(in[0], nil, nil, nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(13, 2, 3, 3)}},
		{"batchnorm-eval-4d", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(14, 2, 3, 2, 2), randn(15, 3), randn(16, 3)}},
		{"batchnorm-eval-no-affine", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(in[0], nil, nil, rm, rv, false, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(17, 2, 3)}},
		{"batchnorm-relu-train", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNormReLU(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(18, 2, 3, 2, 2), randn(19, 3), randn(20, 3)}},
		{"batchnorm-relu-eval", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNormReLU(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5)
		}, []*tensor.Tensor{randn(21, 2, 3, 2, 2), randn(22, 3), randn(23, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGradAccumulating(t, tt.f, tt.inputs...)
		})
	}
}

func TestNormPanics(t *testing.T) {
	x := randn(1, 2, 3)
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"layernorm-weight", func() { tensor.LayerNorm(x, randn(2, 2), nil, 1e-5) }, "tensor: LayerNorm: weight has shape (2), want (3)"},
		{"layernorm-bias", func() { tensor.LayerNorm(x, nil, randn(2, 3, 1), 1e-5) }, "tensor: LayerNorm: bias has shape (3,1), want (3)"},
		{"layernorm-scalar", func() { tensor.LayerNorm(tensor.Scalar(1), nil, nil, 1e-5) }, "tensor: LayerNorm: input has shape ()"},
		{"batchnorm-1d", func() { tensor.BatchNorm(randn(1, 4), nil, nil, nil, nil, true, 0.1, 1e-5) }, "tensor: BatchNorm: input has shape (4)"},
		{"batchnorm-weight", func() { tensor.BatchNorm(x, randn(2, 2), nil, nil, nil, true, 0.1, 1e-5) }, "tensor: BatchNorm: weight has shape (2), want (3)"},
		{"batchnorm-one-value", func() { tensor.BatchNorm(randn(1, 1, 3), nil, nil, nil, nil, true, 0.1, 1e-5) }, "tensor: BatchNorm: training needs more than one value per channel"},
		{"batchnorm-eval-no-stats", func() { tensor.BatchNorm(x, nil, nil, nil, nil, false, 0.1, 1e-5) }, "tensor: BatchNorm: evaluation mode needs runningMean and runningVar"},
		{"batchnorm-half-stats", func() { tensor.BatchNorm(x, nil, nil, tensor.Zeros(3), nil, true, 0.1, 1e-5) }, "tensor: BatchNorm: runningMean and runningVar must both be given"},
		{"batchnorm-running-shape", func() { tensor.BatchNorm(x, nil, nil, tensor.Zeros(3), tensor.Ones(2), true, 0.1, 1e-5) }, "tensor: BatchNorm: runningVar has shape (2), want (3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}

// TestBatchNormReLU checks the fused operation against ReLU(BatchNorm(…))
// bit for bit: outputs, input and parameter gradients, running statistics.
func TestBatchNormReLU(t *testing.T) {
	for _, train := range []bool{false, true} {
		run := func(fused bool) [][]float32 {
			x, w, b := randn(1, 4, 3, 5, 6).SetRequiresGrad(true), randn(2, 3).SetRequiresGrad(true), randn(3, 3).SetRequiresGrad(true)
			rm, rv := randn(4, 3), tensor.AddScalar(tensor.Abs(randn(5, 3)), 0.5)
			var y *tensor.Tensor
			if fused {
				y = tensor.BatchNormReLU(x, w, b, rm, rv, train, 0.1, 1e-5)
			} else {
				y = tensor.ReLU(tensor.BatchNorm(x, w, b, rm, rv, train, 0.1, 1e-5))
			}
			tensor.Sum(tensor.Mul(y, randn(6, y.Shape()...))).Backward()
			return [][]float32{y.Values(), x.Grad().Values(), w.Grad().Values(), b.Grad().Values(), rm.Values(), rv.Values()}
		}
		t.Run(fmt.Sprintf("train=%v", train), func(t *testing.T) {
			assertSameBits(t, []string{"output", "dx", "dweight", "dbias", "running mean", "running var"}, run(true), run(false))
		})
	}
}
