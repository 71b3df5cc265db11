package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// MultiheadAttention is PyTorch's nn.MultiheadAttention as CLIP uses it:
// self-attention with the query, key and value projections packed into one
// (3D, D) weight, rows q then k then v, and no extra key/value biases.
// Inputs are batch-first (N, L, D); CLIP's sequence-first layout gives the
// same numbers.
type MultiheadAttention struct {
	InProjWeight *tensor.Tensor // (3D, D); nil while packed (see PackWeights)
	InProjBias   *tensor.Tensor // (3D)
	OutProj      *Linear        // (D, D)
	Heads        int

	inProj *tensor.PackedWeight // InProjWeight, while packed
}

// NewMultiheadAttention returns attention over d features in the given
// number of heads, initialised like PyTorch (Xavier-uniform in_proj, zero
// biases).
func NewMultiheadAttention(rng *rand.Rand, d, heads int) *MultiheadAttention {
	if heads < 1 || d%heads != 0 {
		panic(fmt.Sprintf("nn: MultiheadAttention: width %d is not divisible into %d heads", d, heads))
	}
	bound := float32(math.Sqrt(6 / float64(d+3*d)))
	out := NewLinear(rng, d, d, true)
	clear(out.Bias.Data())
	return &MultiheadAttention{
		InProjWeight: uniform(rng, bound, 3*d, d),
		InProjBias:   tensor.Zeros(3 * d).SetRequiresGrad(true),
		OutProj:      out,
		Heads:        heads,
	}
}

// Forward computes self-attention of x (N, L, D). mask, if not nil, is
// added to the attention scores (L, L) before the softmax (−Inf blocks).
func (a *MultiheadAttention) Forward(x, mask *tensor.Tensor) *tensor.Tensor {
	return a.forward(x, mask, nil)
}

// forward is Forward plus residual unless it is nil, the sum made by the
// output projection (tensor.LinearAdd).
func (a *MultiheadAttention) forward(x, mask, residual *tensor.Tensor) *tensor.Tensor {
	n, l, d := x.Dim(0), x.Dim(1), x.Dim(2)
	h := a.Heads
	qkv := linearOf(x, a.InProjWeight, a.inProj, a.InProjBias)
	if mask == nil || !mask.RequiresGrad() {
		o := tensor.SelfAttention(qkv, h, mask)
		qkv.Recycle()
		y := a.OutProj.forwardAdd(o, residual)
		o.Recycle()
		return y
	}
	// A mask that learns: the general operations, with (N, L, 3D) viewed
	// as (N, L, 3, H, hd) and q, k and v views into it.
	qkv = qkv.Reshape(n, l, 3, h, d/h)
	q := qkv.Select(2, 0).Permute(0, 2, 1, 3)
	k := qkv.Select(2, 1).Permute(0, 2, 1, 3)
	v := qkv.Select(2, 2).Permute(0, 2, 1, 3)
	o := tensor.ScaledDotProductAttention(q, k, v, mask)
	return a.OutProj.forwardAdd(mergeHeads(o), residual)
}

// Params lists the combined projection. It panics while the weights are
// packed (see PackWeights).
func (a *MultiheadAttention) Params(visit func(string, *tensor.Tensor)) {
	if a.inProj != nil {
		panic(errPacked)
	}
	visit("in_proj_weight", a.InProjWeight)
	visit("in_proj_bias", a.InProjBias)
}

// Children lists the output projection.
func (a *MultiheadAttention) Children(visit func(string, Module)) { visit("out_proj", a.OutProj) }

// mergeHeads turns (N, H, L, hd) into (N, L, H·hd).
func mergeHeads(o *tensor.Tensor) *tensor.Tensor {
	n, h, l, hd := o.Dim(0), o.Dim(1), o.Dim(2), o.Dim(3)
	return o.Permute(0, 2, 1, 3).Reshape(n, l, h*hd)
}

// CausalMask returns the (L, L) additive mask with −Inf above the diagonal,
// so that position i attends only to positions j ≤ i.
func CausalMask(l int) *tensor.Tensor {
	m := tensor.Zeros(l, l)
	d := m.Data()
	for i := 0; i < l; i++ {
		for j := i + 1; j < l; j++ {
			d[i*l+j] = float32(math.Inf(-1))
		}
	}
	return m
}

// MLP is the feed-forward part of a CLIP residual block:
// c_proj(QuickGELU(c_fc(x))).
type MLP struct {
	CFc, CProj *Linear
}

// Forward maps x (…, D) through the 4D-wide hidden layer; c_fc and the
// activation are one operation (tensor.LinearQuickGELU).
func (m *MLP) Forward(x *tensor.Tensor) *tensor.Tensor { return m.forward(x, nil) }

// forward is Forward plus residual unless it is nil.
func (m *MLP) forward(x, residual *tensor.Tensor) *tensor.Tensor {
	h := m.CFc.forwardQuickGELU(x)
	y := m.CProj.forwardAdd(h, residual)
	h.Recycle()
	return y
}

// Params lists nothing: the layers are children.
func (m *MLP) Params(func(string, *tensor.Tensor)) {}

// Children lists c_fc and c_proj.
func (m *MLP) Children(visit func(string, Module)) {
	visit("c_fc", m.CFc)
	visit("c_proj", m.CProj)
}

// ResidualAttentionBlock is CLIP's pre-LayerNorm transformer block:
// x + attn(ln_1(x)), then x + mlp(ln_2(x)).
type ResidualAttentionBlock struct {
	Attn *MultiheadAttention
	LN1  *LayerNorm
	MLP  *MLP
	LN2  *LayerNorm
}

// NewResidualAttentionBlock returns a block of width d with the given heads.
func NewResidualAttentionBlock(rng *rand.Rand, d, heads int) *ResidualAttentionBlock {
	return &ResidualAttentionBlock{
		Attn: NewMultiheadAttention(rng, d, heads),
		LN1:  NewLayerNorm(d, 1e-5),
		MLP:  &MLP{CFc: NewLinear(rng, d, 4*d, true), CProj: NewLinear(rng, 4*d, d, true)},
		LN2:  NewLayerNorm(d, 1e-5),
	}
}

// Forward runs the block on x (N, L, D) with an optional additive mask.
// The residual sums are made by the output projections as they store
// their results (tensor.LinearAdd), with the values of tensor.Add. In an
// inference pass the block recycles its activations once it has used
// them (tensor.Recycle), all but x and the result.
func (b *ResidualAttentionBlock) Forward(x, mask *tensor.Tensor) *tensor.Tensor {
	h := b.LN1.Forward(x)
	x = b.Attn.forward(h, mask, x)
	h.Recycle()
	h = b.LN2.Forward(x)
	y := b.MLP.forward(h, x)
	h.Recycle()
	x.Recycle() // the attention's output, computed here
	return y
}

// Params lists nothing: the layers are children.
func (b *ResidualAttentionBlock) Params(func(string, *tensor.Tensor)) {}

// Children lists attn, ln_1, mlp and ln_2.
func (b *ResidualAttentionBlock) Children(visit func(string, Module)) {
	visit("attn", b.Attn)
	visit("ln_1", b.LN1)
	visit("mlp", b.MLP)
	visit("ln_2", b.LN2)
}

// Transformer is a stack of residual attention blocks named resblocks.{i}.
type Transformer struct {
	Blocks []*ResidualAttentionBlock

	// Tap, if not nil, is called with each block's output ("resblocks.{i}.out").
	Tap func(name string, x *tensor.Tensor)
}

// NewTransformer returns layers blocks of width d.
func NewTransformer(rng *rand.Rand, d, layers, heads int) *Transformer {
	t := &Transformer{}
	for range layers {
		t.Blocks = append(t.Blocks, NewResidualAttentionBlock(rng, d, heads))
	}
	return t
}

// Forward runs every block on x (N, L, D). In an inference pass without a
// Tap each block's output is recycled (tensor.Recycle) once the next block
// has used it.
func (t *Transformer) Forward(x, mask *tensor.Tensor) *tensor.Tensor {
	for i, b := range t.Blocks {
		y := b.Forward(x, mask)
		if i > 0 && t.Tap == nil {
			x.Recycle() // the previous block's output; never the caller's x
		}
		x = y
		if t.Tap != nil {
			t.Tap(fmt.Sprintf("resblocks.%d.out", i), x)
		}
	}
	return x
}

// Params lists nothing: the blocks are children.
func (t *Transformer) Params(func(string, *tensor.Tensor)) {}

// Children lists resblocks.0, resblocks.1, ….
func (t *Transformer) Children(visit func(string, Module)) {
	for i, b := range t.Blocks {
		visit(fmt.Sprintf("resblocks.%d", i), b)
	}
}
