package tensor

import (
	"fmt"
	"math"
	"sync"

	"github.com/vlpuda/vlpuda/kernels"
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

// SelfAttention is multi-head self-attention over packed projections, the
// core of torch.nn.MultiheadAttention between in_proj and out_proj. qkv
// (N, L, 3·D) holds for every position the queries, then the keys, then the
// values, each H heads of D/H features side by side; the result (N, L, D)
// holds the H heads' outputs side by side. mask (L, L), if not nil, is
// added to every head's scores before the softmax; it is a constant, and
// must not require a gradient.
//
// It computes what ScaledDotProductAttention computes on the heads split
// out of qkv, then merged, with the same kernels in the same order, so the
// results are equal bit for bit; but it reads q, k and v and writes the
// output in their packed layouts, keeps only the scaled queries and the
// attention weights for the backward pass, and writes the gradient of qkv
// as one buffer.
func SelfAttention(qkv *Tensor, heads int, mask *Tensor) *Tensor {
	const op = "SelfAttention"
	if qkv.NDim() != 3 || heads < 1 || qkv.shape[2]%(3*heads) != 0 {
		panic(fmt.Sprintf("tensor: %s: qkv has shape %s; want (N, L, 3·D) with D a multiple of %d heads", op, shapeString(qkv.shape), heads))
	}
	n, l, d := qkv.shape[0], qkv.shape[1], qkv.shape[2]/3
	if mask != nil && (mask.NDim() != 2 || mask.shape[0] != l || mask.shape[1] != l || mask.requiresGrad) {
		panic(fmt.Sprintf("tensor: %s: mask has shape %s; want (%d, %d), not requiring a gradient", op, shapeString(mask.shape), l, l))
	}
	hd := d / heads
	scale := float32(1 / math.Sqrt(float64(hd)))
	src := qkv.Detach().Contiguous().Data()
	var maskd []float32
	if mask != nil {
		maskd = mask.Detach().Contiguous().Data()
	}
	// The backward pass needs the scaled queries and the weights of every
	// head; inference needs them only while a head is being computed.
	keep := needsGrad([]*Tensor{qkv})
	jobs := n * heads
	var qs, probs []float32
	if keep {
		qs, probs = make([]float32, jobs*l*hd), make([]float32, jobs*l*l)
	}
	// The heads' products write every element of out.
	out := newOutput([]*Tensor{qkv}, n, l, d)
	ld := 3 * d // row stride of q, k and v in qkv
	kernels.ParallelFor(jobs, 1, func(lo, hi int) {
		var q, p []float32
		if !keep {
			buf := attentionScratch(l*hd + l*l)
			defer attentionBufs.Put(buf)
			q, p = (*buf)[:l*hd], (*buf)[l*hd:]
		}
		for j := lo; j < hi; j++ {
			qo, ko, vo := selfAttentionOffsets(j, heads, l, d)
			if keep {
				q, p = qs[j*l*hd:(j+1)*l*hd], probs[j*l*l:(j+1)*l*l]
			}
			for i := range l {
				kernels.Scale(q[i*hd:(i+1)*hd], scale, src[qo+i*ld:qo+i*ld+hd])
			}
			kernels.Sgemm(false, true, l, l, hd, 1, q, hd, src[ko:], ld, 0, p, l)
			if maskd != nil {
				kernels.Add(p, p, maskd)
			}
			kernels.SoftmaxRows(p, p, l)
			kernels.Sgemm(false, false, l, hd, l, 1, p, l, src[vo:], ld, 0, out.data[(j/heads)*l*d+(j%heads)*hd:], d)
		}
	})
	return record(out, op, func() {
		if !keep {
			return
		}
		g := out.grad.data
		dqkv := make([]float32, len(src))
		kernels.ParallelFor(jobs, 1, func(lo, hi int) {
			dp, dq := make([]float32, l*l), make([]float32, l*hd)
			for j := lo; j < hi; j++ {
				qo, ko, vo := selfAttentionOffsets(j, heads, l, d)
				q, p := qs[j*l*hd:(j+1)*l*hd], probs[j*l*l:(j+1)*l*l]
				gj := g[(j/heads)*l*d+(j%heads)*hd:]
				// dV = Pᵀ·dO and dP = dO·Vᵀ; dS is the softmax's gradient.
				kernels.Sgemm(true, false, l, hd, l, 1, p, l, gj, d, 0, dqkv[vo:], ld)
				kernels.Sgemm(false, true, l, l, hd, 1, gj, d, src[vo:], ld, 0, dp, l)
				kernels.SoftmaxRowsBackward(dp, dp, p, l)
				// dQ = scale·dS·K and dK = dSᵀ·(scale·Q).
				kernels.Sgemm(false, false, l, hd, l, 1, dp, l, src[ko:], ld, 0, dq, hd)
				for i := range l {
					kernels.Scale(dqkv[qo+i*ld:qo+i*ld+hd], scale, dq[i*hd:(i+1)*hd])
				}
				kernels.Sgemm(true, false, l, hd, l, 1, dp, l, q, hd, 0, dqkv[ko:], ld)
			}
		})
		qkv.takeGrad(dqkv)
	}, qkv)
}

// attentionBufs holds the scratch of inference attention chunks: the scaled
// queries and the weights of one head, which every chunk of every layer
// would otherwise allocate and clear anew.
var attentionBufs sync.Pool

// attentionScratch returns a buffer of n floats from attentionBufs, its
// contents unspecified.
func attentionScratch(n int) *[]float32 {
	if b, ok := attentionBufs.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

// selfAttentionOffsets returns where head j%heads of sample j/heads starts
// in qkv (N, L, 3·D): its first query, key and value.
func selfAttentionOffsets(j, heads, l, d int) (q, k, v int) {
	q = (j/heads)*l*3*d + (j%heads)*(d/heads)
	return q, q + d, q + 2*d
}
