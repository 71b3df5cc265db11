package tensor

import (
	"fmt"
	"math"
)

// ScaledDotProductAttention returns softmax(q·kᵀ/√D + mask)·v for queries
// q (…, Lq, D), keys k (…, Lk, D) and values v (…, Lk, Dv), usually
// (B, H, L, D); the result is (…, Lq, Dv). mask is added to the scores before
// the softmax and must broadcast to (…, Lq, Lk) — use −Inf or a large
// negative value to hide a key (a causal mask, say) — or is nil. Leading
// dimensions broadcast as in MatMul. It matches
// torch.nn.functional.scaled_dot_product_attention with a float attn_mask
// and no dropout; q is scaled before the product, as in
// torch.nn.MultiheadAttention.
func ScaledDotProductAttention(q, k, v, mask *Tensor) *Tensor {
	if q.NDim() < 2 || k.NDim() < 2 || v.NDim() < 2 || q.Dim(-1) != k.Dim(-1) || k.Dim(-2) != v.Dim(-2) {
		panic(fmt.Sprintf("tensor: ScaledDotProductAttention: shapes q %s, k %s, v %s do not match", shapeString(q.shape), shapeString(k.shape), shapeString(v.shape)))
	}
	scores := MatMul(MulScalar(q, float32(1/math.Sqrt(float64(q.Dim(-1))))), k.T())
	if mask != nil {
		scores = Add(scores, mask)
	}
	return MatMul(Softmax(scores, -1), v)
}
