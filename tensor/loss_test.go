package tensor_test

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// crossEntropyRef computes −Σ_c target_c·log softmax(z)_c per row in float64,
// with the target (1−ε)·onehot(label) + ε/C when targets is nil.
func crossEntropyRef(logits *tensor.Tensor, labels []int, eps float64, targets *tensor.Tensor) []float64 {
	n, c := logits.Dim(0), logits.Dim(1)
	lp := softmaxRef(logits, 1, true).Values()
	var tv []float32
	if targets != nil {
		tv = targets.Values()
	}
	out := make([]float64, n)
	for i := range n {
		for j := range c {
			var q float64
			switch {
			case targets != nil:
				q = float64(tv[i*c+j])
			case j == labels[i]:
				q = 1 - eps + eps/float64(c)
			default:
				q = eps / float64(c)
			}
			out[i] -= q * float64(lp[i*c+j])
		}
	}
	return out
}

// lossMean64 returns the mean of xs.
func lossMean64(xs []float64) float64 {
	var s float64
	for _, v := range xs {
		s += v
	}
	return s / float64(len(xs))
}

func TestCrossEntropyHandComputed(t *testing.T) {
	// logits (1, 2, 3): log Σexp = 3 + log(1 + e⁻¹ + e⁻²), so −log p = lse − z.
	lse := 3 + math.Log(1+math.Exp(-1)+math.Exp(-2))
	z := tensor.FromFloat64([]float64{1, 2, 3, 0, 0, 0}, 2, 3)
	tests := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"per-sample", tensor.CrossEntropyPerSample(z, []int{2, 0}, 0), []float64{lse - 3, math.Log(3)}},
		// (1−ε)·(−log p_y) + ε·mean_c(−log p_c); a uniform row gives log 3 for every ε.
		{"per-sample-smoothed", tensor.CrossEntropyPerSample(z, []int{2, 1}, 0.1), []float64{0.9*(lse-3) + 0.1*(lse-2), math.Log(3)}},
		{"mean", tensor.CrossEntropy(z, []int{0, 1}, 0), []float64{(lse - 1 + math.Log(3)) / 2}},
		{"soft-onehot", tensor.CrossEntropySoftPerSample(z, tensor.FromFloat64([]float64{0, 0, 1, 1, 0, 0}, 2, 3)), []float64{lse - 3, math.Log(3)}},
		{"soft-mixed", tensor.CrossEntropySoft(z, tensor.FromFloat64([]float64{0.5, 0, 0.5, 0.2, 0.3, 0.5}, 2, 3)), []float64{(0.5*(lse-1) + 0.5*(lse-3) + math.Log(3)) / 2}},
		{"nll", tensor.NLL(tensor.FromFloat64([]float64{-1, -2, -3, -4}, 2, 2), []int{1, 0}), []float64{(2 + 3) / 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.AssertClose(t, tt.got.Reshape(-1), tensor.FromFloat64(tt.want, len(tt.want)), 1e-6, 1e-6)
		})
	}
}

func TestCrossEntropyMatchesReference(t *testing.T) {
	labels := []int{3, 0, 4, 1}
	logits := shiftScale(randn(1, 4, 5), 3, 0)
	tests := []struct {
		name string
		eps  float32
	}{
		{"no-smoothing", 0},
		{"smoothing-0.1", 0.1},
		{"smoothing-1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := crossEntropyRef(logits, labels, float64(tt.eps), nil)
			tensortest.AssertClose(t, tensor.CrossEntropyPerSample(logits, labels, tt.eps), tensor.FromFloat64(want, 4), 1e-5, 1e-5)
			tensortest.AssertClose(t, tensor.CrossEntropy(logits, labels, tt.eps), tensor.FromFloat64([]float64{lossMean64(want)}), 1e-5, 1e-5)
			// Hard labels with smoothing equal soft targets (1−ε)·onehot + ε/C.
			q := tensor.Full(tt.eps/5, 4, 5)
			for i, y := range labels {
				q.Data()[i*5+y] += 1 - tt.eps
			}
			tensortest.AssertClose(t, tensor.CrossEntropySoftPerSample(logits, q), tensor.FromFloat64(want, 4), 1e-5, 1e-5)
		})
	}
	t.Run("soft-targets", func(t *testing.T) {
		targets := tensor.Softmax(randn(2, 4, 5), -1)
		want := crossEntropyRef(logits, nil, 0, targets)
		tensortest.AssertClose(t, tensor.CrossEntropySoftPerSample(logits, targets), tensor.FromFloat64(want, 4), 1e-5, 1e-5)
		tensortest.AssertClose(t, tensor.CrossEntropySoft(logits, targets), tensor.FromFloat64([]float64{lossMean64(want)}), 1e-5, 1e-5)
	})
	t.Run("nll-of-log-softmax", func(t *testing.T) {
		got := tensor.NLL(tensor.LogSoftmax(logits, -1), labels)
		tensortest.AssertClose(t, got, tensor.FromFloat64([]float64{lossMean64(crossEntropyRef(logits, labels, 0, nil))}), 1e-5, 1e-5)
	})
	t.Run("large-logits", func(t *testing.T) {
		big := shiftScale(randn(3, 4, 5), 1000, 0)
		got := tensor.CrossEntropyPerSample(big, labels, 0.1)
		if got.HasNaN() {
			t.Fatalf("loss not finite: %v", got)
		}
		tensortest.AssertClose(t, got, tensor.FromFloat64(crossEntropyRef(big, labels, 0.1, nil), 4), 1e-2, 1e-5)
	})
}

func TestKLDiv(t *testing.T) {
	p := tensor.FromFloat64([]float64{math.Log(0.5), math.Log(0.5), math.Log(0.1), math.Log(0.9)}, 2, 2)
	q := tensor.FromFloat64([]float64{math.Log(0.25), math.Log(0.75), math.Log(0.5), math.Log(0.5)}, 2, 2)
	withZero := tensor.FromFloat64([]float64{math.Inf(-1), 0}, 1, 2) // p = (0, 1)
	tests := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		// KL(p‖q) = Σ p·log(p/q): the expectation is under the first argument.
		{"p-q", tensor.KLDiv(p, q), []float64{0.5*math.Log(2) + 0.5*math.Log(2.0/3), 0.1*math.Log(0.2) + 0.9*math.Log(1.8)}},
		{"q-p", tensor.KLDiv(q, p), []float64{0.25*math.Log(0.5) + 0.75*math.Log(1.5), 0.5*math.Log(5) + 0.5*math.Log(5.0/9)}},
		{"self", tensor.KLDiv(p, p), []float64{0, 0}},
		{"zero-probability", tensor.KLDiv(withZero, tensor.FromFloat64([]float64{math.Log(0.2), math.Log(0.8)}, 1, 2)), []float64{-math.Log(0.8)}},
		{"3d-leading-shape", tensor.KLDiv(p.Reshape(2, 1, 2), q.Reshape(2, 1, 2)).Reshape(2), []float64{0.5*math.Log(2) + 0.5*math.Log(2.0/3), 0.1*math.Log(0.2) + 0.9*math.Log(1.8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.AssertClose(t, tt.got, tensor.FromFloat64(tt.want, len(tt.want)), 1e-6, 1e-5)
		})
	}
	t.Run("zero-probability-gradient", func(t *testing.T) {
		lp := tensor.FromFloat64([]float64{math.Inf(-1), 0}, 1, 2).SetRequiresGrad(true)
		lq := tensor.FromFloat64([]float64{math.Log(0.2), math.Log(0.8)}, 1, 2).SetRequiresGrad(true)
		tensor.Sum(tensor.KLDiv(lp, lq)).Backward()
		if lp.Grad().HasNaN() || lq.Grad().HasNaN() {
			t.Fatalf("gradients not finite: %v %v", lp.Grad(), lq.Grad())
		}
		tensortest.AssertClose(t, lq.Grad(), tensor.FromFloat64([]float64{0, -1}, 1, 2), 1e-6, 0)
	})
}

func TestGradLoss(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	labels := []int{2, 0, 3}
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"cross-entropy", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.CrossEntropy(in[0], labels, 0) }, []*tensor.Tensor{randn(1, 3, 4)}},
		{"cross-entropy-smoothed", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.CrossEntropy(in[0], labels, 0.1) }, []*tensor.Tensor{randn(2, 3, 4)}},
		{"cross-entropy-per-sample", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.CrossEntropyPerSample(in[0], labels, 0.2) }, []*tensor.Tensor{randn(3, 3, 4)}},
		{"cross-entropy-transposed-view", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.CrossEntropyPerSample(in[0].T(), labels, 0) }, []*tensor.Tensor{randn(4, 4, 3)}},
		{"cross-entropy-soft", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.CrossEntropySoft(in[0], in[1]) }, []*tensor.Tensor{randn(5, 3, 4), randn(6, 3, 4)}},
		{"cross-entropy-soft-per-sample", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.CrossEntropySoftPerSample(in[0], tensor.Softmax(in[1], -1))
		}, []*tensor.Tensor{randn(7, 3, 4), randn(8, 3, 4)}},
		{"nll", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.NLL(in[0], labels) }, []*tensor.Tensor{randn(9, 3, 4)}},
		{"kl-div", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.KLDiv(in[0], in[1]) }, []*tensor.Tensor{randn(10, 3, 4), randn(11, 3, 4)}},
		{"kl-div-of-log-softmax", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.KLDiv(tensor.LogSoftmax(in[0], -1), tensor.LogSoftmax(in[1], -1))
		}, []*tensor.Tensor{randn(12, 2, 3, 4), randn(13, 2, 3, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGradAccumulating(t, tt.f, tt.inputs...)
		})
	}
}

func TestLossPanics(t *testing.T) {
	z := randn(1, 2, 3)
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"label-too-large", func() { tensor.CrossEntropy(z, []int{0, 3}, 0) }, "tensor: CrossEntropy: label 3 of sample 1 is out of range [0, 3)"},
		{"label-negative", func() { tensor.CrossEntropyPerSample(z, []int{-1, 0}, 0) }, "tensor: CrossEntropyPerSample: label -1 of sample 0 is out of range [0, 3)"},
		{"label-count", func() { tensor.CrossEntropy(z, []int{0}, 0) }, "tensor: CrossEntropy: 1 labels for input (2,3)"},
		{"logits-3d", func() { tensor.CrossEntropy(randn(2, 2, 3, 1), []int{0, 0}, 0) }, "tensor: CrossEntropy: input has shape (2,3,1); want (N, C)"},
		{"smoothing", func() { tensor.CrossEntropy(z, []int{0, 0}, 1.5) }, "tensor: CrossEntropy: label smoothing 1.5 is outside [0, 1]"},
		{"nll-label", func() { tensor.NLL(z, []int{0, 5}) }, "tensor: NLL: label 5 of sample 1 is out of range [0, 3)"},
		{"soft-shapes", func() { tensor.CrossEntropySoft(z, randn(3, 3, 2)) }, "tensor: CrossEntropySoft: shapes (2,3) and (3,2)"},
		{"soft-per-sample-3d", func() { tensor.CrossEntropySoftPerSample(randn(5, 2, 3, 1), randn(6, 2, 3, 1)) }, "tensor: CrossEntropySoftPerSample: shapes (2,3,1) and (2,3,1)"},
		{"kl-shapes", func() { tensor.KLDiv(z, randn(4, 2, 4)) }, "tensor: KLDiv: shapes (2,3) and (2,4)"},
		{"kl-scalar", func() { tensor.KLDiv(tensor.Scalar(0), tensor.Scalar(0)) }, "tensor: KLDiv: shapes () and ()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}
