package tensor_test

import (
	"math"
	"testing"

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
