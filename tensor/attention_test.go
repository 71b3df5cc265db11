package tensor_test

import (
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// attentionRef computes softmax(q·kᵀ/√D + mask)·v in float64 for q (B, H, L, D),
// k and v (B, H, M, D) and mask (L, M) or nil.
func attentionRef(q, k, v, mask *tensor.Tensor) *tensor.Tensor {
	b, h, l, d := q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3)
	m := k.Dim(2)
	out := make([]float64, 0, b*h*l*d)
	for bi := range b {
		for hi := range h {
			for i := range l {
				w := make([]float64, m)
				mx := math.Inf(-1)
				for j := range m {
					var s float64
					for e := range d {
						s += float64(q.At(bi, hi, i, e)) * float64(k.At(bi, hi, j, e))
					}
					s /= math.Sqrt(float64(d))
					if mask != nil {
						s += float64(mask.At(i, j))
					}
					w[j] = s
					mx = math.Max(mx, s)
				}
				var z float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					z += w[j]
				}
				for e := range d {
					var s float64
					for j := range m {
						s += w[j] / z * float64(v.At(bi, hi, j, e))
					}
					out = append(out, s)
				}
			}
		}
	}
	return tensor.FromFloat64(out, b, h, l, d)
}

func TestScaledDotProductAttention(t *testing.T) {
	causal := tensor.FromFloat64([]float64{0, math.Inf(-1), math.Inf(-1), 0, 0, math.Inf(-1), 0, 0, 0}, 3, 3)
	tests := []struct {
		name       string
		q, k, v, m *tensor.Tensor
	}{
		{"no-mask", randn(1, 2, 2, 3, 4), randn(2, 2, 2, 5, 4), randn(3, 2, 2, 5, 4), nil},
		{"additive-mask", randn(4, 1, 2, 3, 4), randn(5, 1, 2, 2, 4), randn(6, 1, 2, 2, 4), randn(7, 3, 2)},
		{"causal", randn(8, 1, 1, 3, 2), randn(9, 1, 1, 3, 2), randn(10, 1, 1, 3, 2), causal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tensor.ScaledDotProductAttention(tt.q, tt.k, tt.v, tt.m)
			tensortest.AssertClose(t, got, attentionRef(tt.q, tt.k, tt.v, tt.m), 1e-5, 1e-5)
		})
	}
	t.Run("grad", func(t *testing.T) {
		checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.ScaledDotProductAttention(in[0], in[1], in[2], in[3])
		}, randn(11, 1, 2, 3, 4), randn(12, 1, 2, 2, 4), randn(13, 1, 2, 2, 4), randn(14, 3, 2))
	})
	t.Run("shapes", func(t *testing.T) {
		expectPanic(t, "tensor: ScaledDotProductAttention: shapes q (1,2,3,4), k (1,2,2,3)", func() {
			tensor.ScaledDotProductAttention(randn(1, 1, 2, 3, 4), randn(2, 1, 2, 2, 3), randn(3, 1, 2, 2, 4), nil)
		})
	})
}

// splitAttention is SelfAttention composed from the general operations, as
// torch.nn.MultiheadAttention composes it: split the heads out of qkv
// (N, L, 3·D), attend, merge the heads.
func splitAttention(qkv *tensor.Tensor, heads int, mask *tensor.Tensor) *tensor.Tensor {
	n, l, d := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)/3
	x := qkv.Reshape(n, l, 3, heads, d/heads)
	q := x.Select(2, 0).Permute(0, 2, 1, 3)
	k := x.Select(2, 1).Permute(0, 2, 1, 3)
	v := x.Select(2, 2).Permute(0, 2, 1, 3)
	o := tensor.ScaledDotProductAttention(q, k, v, mask)
	return o.Permute(0, 2, 1, 3).Reshape(n, l, d)
}

func TestSelfAttention(t *testing.T) {
	causal := func(l int) *tensor.Tensor {
		m := make([]float64, l*l)
		for i := range l {
			for j := i + 1; j < l; j++ {
				m[i*l+j] = math.Inf(-1)
			}
		}
		return tensor.FromFloat64(m, l, l)
	}
	tests := []struct {
		name    string
		qkv     *tensor.Tensor
		heads   int
		mask    *tensor.Tensor
		threads int
	}{
		{"one-head", randn(1, 1, 3, 6), 1, nil, 1},
		{"heads", randn(2, 2, 5, 24), 4, nil, 2},
		{"causal", randn(3, 3, 7, 12), 2, causal(7), 2},
		{"additive-mask", randn(4, 2, 4, 18), 3, randn(5, 4, 4), 1},
		{"vit-b16-layer", randn(6, 2, 197, 3*768), 12, nil, 2},
		{"text-layer", randn(7, 2, 77, 3*512), 8, causal(77), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer kernels.SetThreads(kernels.Threads())
			kernels.SetThreads(tt.threads)
			// Bit for bit the composed operations, forward on a constant, on
			// a tensor that requires grad and on an inference tensor.
			want := splitAttention(tt.qkv, tt.heads, tt.mask)
			for name, qkv := range map[string]*tensor.Tensor{
				"constant":      tt.qkv.Detach(),
				"requires grad": tt.qkv.Detach().SetRequiresGrad(true),
				"inference":     tt.qkv.Inference(),
			} {
				got := tensor.SelfAttention(qkv, tt.heads, tt.mask)
				if g, w := got.Values(), want.Values(); !slices.Equal(g, w) {
					t.Fatalf("%s: SelfAttention differs from the composed attention, e.g. %v vs %v", name, g[:min(4, len(g))], w[:min(4, len(w))])
				}
				if got.RequiresGrad() != qkv.RequiresGrad() || got.IsInference() != qkv.IsInference() {
					t.Fatalf("%s: output requires grad %v, inference %v", name, got.RequiresGrad(), got.IsInference())
				}
			}
			// The gradients too, for one random upstream gradient.
			w := tensor.RandN(tensor.NewRNG(99), want.Shape()...)
			grad := func(f func(*tensor.Tensor, int, *tensor.Tensor) *tensor.Tensor) []float32 {
				qkv := tt.qkv.Detach().SetRequiresGrad(true)
				tensor.Sum(tensor.Mul(f(qkv, tt.heads, tt.mask), w)).Backward()
				return qkv.Grad().Values()
			}
			if g, w := grad(tensor.SelfAttention), grad(splitAttention); !slices.Equal(g, w) {
				tensortest.AssertClose(t, tensor.New(g, len(g)), tensor.New(w, len(w)), 1e-6, 1e-5)
				t.Logf("gradients equal within 1e-6 but not bit for bit")
			}
			if tt.qkv.Numel() > 10000 {
				return
			}
			checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
				return tensor.SelfAttention(in[0], tt.heads, tt.mask)
			}, tt.qkv)
		})
	}
	t.Run("shapes", func(t *testing.T) {
		expectPanic(t, "tensor: SelfAttention: qkv has shape (2,3,10)", func() { tensor.SelfAttention(randn(1, 2, 3, 10), 2, nil) })
		expectPanic(t, "tensor: SelfAttention: mask has shape (3,2)", func() { tensor.SelfAttention(randn(1, 2, 3, 12), 2, randn(2, 3, 2)) })
		expectPanic(t, "tensor: SelfAttention: mask has shape (3,3); want (3, 3), not requiring", func() {
			tensor.SelfAttention(randn(1, 2, 3, 12), 2, randn(2, 3, 3).SetRequiresGrad(true))
		})
	})
}
