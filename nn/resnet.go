package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// ModifiedResNet is CLIP's ResNet image tower: a three-convolution stem with
// an average pool, four stages of anti-aliased bottleneck blocks (strided
// blocks average-pool instead of striding their convolutions), and an
// attention pool that maps the last feature map to the embedding.
type ModifiedResNet struct {
	Conv1, Conv2, Conv3 *Conv2d
	BN1, BN2, BN3       *BatchNorm
	Layers              [4]Stage
	AttnPool            *AttentionPool2d

	// Tap, if not nil, is called with "stem_out" and "layer{S}_out".
	Tap func(name string, x *tensor.Tensor)
}

// ResNetConfig is the shape of a ModifiedResNet: blocks per stage, the stem
// width, the input resolution, the attention-pool heads and the output size.
type ResNetConfig struct {
	Layers                   [4]int
	Width, Resolution, Heads int
	Embed                    int
}

// NewModifiedResNet returns a randomly initialised ResNet tower.
func NewModifiedResNet(rng *rand.Rand, c ResNetConfig) *ModifiedResNet {
	w := c.Width
	r := &ModifiedResNet{
		Conv1: NewConv2d(rng, 3, w/2, 3, 2, 1, false), BN1: NewBatchNorm(w / 2),
		Conv2: NewConv2d(rng, w/2, w/2, 3, 1, 1, false), BN2: NewBatchNorm(w / 2),
		Conv3: NewConv2d(rng, w/2, w, 3, 1, 1, false), BN3: NewBatchNorm(w),
	}
	in := w
	for s := range 4 {
		planes := w << s
		stride := 2
		if s == 0 {
			stride = 1
		}
		for b := range c.Layers[s] {
			if b > 0 {
				stride = 1
			}
			r.Layers[s] = append(r.Layers[s], NewBottleneck(rng, in, planes, stride))
			in = 4 * planes
		}
	}
	r.AttnPool = NewAttentionPool2d(rng, c.Resolution/32, 32*w, c.Heads, c.Embed)
	return r
}

// Forward maps images (N, 3, R, R) to features (N, embed), not normalised.
//
// In an inference pass (images is an inference tensor) every activation
// is recycled (tensor.Recycle) once the next layer has read it, except those
// handed to Tap.
func (r *ModifiedResNet) Forward(images *tensor.Tensor) *tensor.Tensor {
	x := convBN(r.Conv1, r.BN1, images, nil, true)
	x = then(x, convBN(r.Conv2, r.BN2, x, nil, true))
	x = then(x, convBN(r.Conv3, r.BN3, x, nil, true))
	x = then(x, avgPool(x, 2))
	r.tap("stem_out", x)
	for s, stage := range r.Layers {
		x = r.untapped(x, stage.Forward(x))
		r.tap(fmt.Sprintf("layer%d_out", s+1), x)
	}
	return r.untapped(x, r.AttnPool.Forward(x))
}

// then recycles x, which y was computed from, and returns y; when y is x
// (an identity layer) there is nothing to recycle.
func then(x, y *tensor.Tensor) *tensor.Tensor {
	if y != x {
		x.Recycle()
	}
	return y
}

// untapped is then for an x that went to the tap, if one is set.
func (r *ModifiedResNet) untapped(x, y *tensor.Tensor) *tensor.Tensor {
	if r.Tap != nil {
		return y
	}
	return then(x, y)
}

func (r *ModifiedResNet) tap(name string, x *tensor.Tensor) {
	if r.Tap != nil {
		r.Tap(name, x)
	}
}

// Params lists nothing: every layer is a child.
func (r *ModifiedResNet) Params(func(string, *tensor.Tensor)) {}

// Children lists the stem, layer1…layer4 and attnpool.
func (r *ModifiedResNet) Children(visit func(string, Module)) {
	visit("conv1", r.Conv1)
	visit("bn1", r.BN1)
	visit("conv2", r.Conv2)
	visit("bn2", r.BN2)
	visit("conv3", r.Conv3)
	visit("bn3", r.BN3)
	for s, stage := range r.Layers {
		visit(fmt.Sprintf("layer%d", s+1), stage)
	}
	visit("attnpool", r.AttnPool)
}

// avgPool is a k×k average pool with stride k, the identity for k = 1.
func avgPool(x *tensor.Tensor, k int) *tensor.Tensor {
	if k == 1 {
		return x
	}
	return tensor.AvgPool2d(x, [2]int{k, k}, [2]int{k, k}, [2]int{})
}

// Stage is a sequence of bottleneck blocks named 0, 1, ….
type Stage []*Bottleneck

// Forward runs the blocks in order, recycling each output but the last
// once the next block has read it.
func (s Stage) Forward(x *tensor.Tensor) *tensor.Tensor {
	for i, b := range s {
		if i == 0 {
			x = b.Forward(x)
			continue
		}
		x = then(x, b.Forward(x))
	}
	return x
}

// Params lists nothing: the blocks are children.
func (s Stage) Params(func(string, *tensor.Tensor)) {}

// Children lists the blocks by index.
func (s Stage) Children(visit func(string, Module)) {
	for i, b := range s {
		visit(fmt.Sprint(i), b)
	}
}

// Bottleneck is CLIP's anti-aliased bottleneck block: 1×1, 3×3, an average
// pool when strided, 1×1 to 4× the planes, plus a shortcut that is average
// pool + 1×1 conv + BatchNorm when the shape changes.
type Bottleneck struct {
	Conv1, Conv2, Conv3 *Conv2d
	BN1, BN2, BN3       *BatchNorm
	Downsample          *Downsample // nil when the shortcut is the identity
	Stride              int
}

// NewBottleneck returns a block from in channels to 4·planes.
func NewBottleneck(rng *rand.Rand, in, planes, stride int) *Bottleneck {
	b := &Bottleneck{
		Conv1: NewConv2d(rng, in, planes, 1, 1, 0, false), BN1: NewBatchNorm(planes),
		Conv2: NewConv2d(rng, planes, planes, 3, 1, 1, false), BN2: NewBatchNorm(planes),
		Conv3: NewConv2d(rng, planes, 4*planes, 1, 1, 0, false), BN3: NewBatchNorm(4 * planes),
		Stride: stride,
	}
	if stride > 1 || in != 4*planes {
		b.Downsample = &Downsample{Conv: NewConv2d(rng, in, 4*planes, 1, 1, 0, false), BN: NewBatchNorm(4 * planes), Stride: stride}
	}
	return b
}

// Forward runs the block on x (N, C, H, W).
// Its activations are recycled as they are used up; x is left alone.
func (b *Bottleneck) Forward(x *tensor.Tensor) *tensor.Tensor {
	out := convBN(b.Conv1, b.BN1, x, nil, true)
	out = then(out, convBN(b.Conv2, b.BN2, out, nil, true))
	out = then(out, avgPool(out, b.Stride))
	shortcut := x
	if b.Downsample != nil {
		shortcut = b.Downsample.Forward(x)
	}
	y := then(out, convBN(b.Conv3, b.BN3, out, shortcut, true))
	if shortcut != x {
		shortcut.Recycle()
	}
	return y
}

// convBN returns bn(conv(x)), plus add unless it is nil, then a ReLU if
// relu. A frozen norm whose parameters need no gradient (they require none,
// or x is an inference tensor) is folded into the convolution's epilogue with the
// residual and the ReLU (tensor.Conv2dAffine); otherwise the operations
// run one by one. Both give the same values bit for bit.
func convBN(conv *Conv2d, bn *BatchNorm, x, add *tensor.Tensor, relu bool) *tensor.Tensor {
	if scale, shift, ok := bn.frozenScaleShift(x); ok && conv.Bias == nil {
		if conv.packed != nil {
			return conv.packed.Conv2dAffine(x, scale, shift, add, relu, conv.Stride, conv.Padding)
		}
		return tensor.Conv2dAffine(x, conv.Weight, scale, shift, add, relu, conv.Stride, conv.Padding)
	}
	y := conv.Forward(x)
	switch {
	case add != nil && relu:
		return tensor.AddReLU(bn.Forward(y), add)
	case add != nil:
		return tensor.Add(bn.Forward(y), add)
	case relu:
		return bn.ForwardReLU(y)
	}
	return bn.Forward(y)
}

// Params lists nothing: the layers are children.
func (b *Bottleneck) Params(func(string, *tensor.Tensor)) {}

// Children lists the convolutions, norms and the downsample branch.
func (b *Bottleneck) Children(visit func(string, Module)) {
	visit("conv1", b.Conv1)
	visit("bn1", b.BN1)
	visit("conv2", b.Conv2)
	visit("bn2", b.BN2)
	visit("conv3", b.Conv3)
	visit("bn3", b.BN3)
	if b.Downsample != nil {
		visit("downsample", b.Downsample)
	}
}

// Downsample is the shortcut branch of a Bottleneck whose shape changes:
// average pool (named "-1" in PyTorch, no parameters), then "0" a 1×1 conv
// and "1" a BatchNorm.
type Downsample struct {
	Conv   *Conv2d
	BN     *BatchNorm
	Stride int
}

// Forward maps x to the block's output shape.
func (d *Downsample) Forward(x *tensor.Tensor) *tensor.Tensor {
	pooled := avgPool(x, d.Stride)
	y := convBN(d.Conv, d.BN, pooled, nil, false)
	if pooled != x {
		pooled.Recycle()
	}
	return y
}

// Params lists nothing.
func (d *Downsample) Params(func(string, *tensor.Tensor)) {}

// Children lists "0" (conv) and "1" (BatchNorm).
func (d *Downsample) Children(visit func(string, Module)) {
	visit("0", d.Conv)
	visit("1", d.BN)
}

// AttentionPool2d is CLIP's attention pooling: the mean of the spatial
// tokens is prepended, positional embeddings are added, and multi-head
// attention with the mean token as the only query gives the output.
type AttentionPool2d struct {
	PositionalEmbedding        *tensor.Tensor // (S²+1, D)
	KProj, QProj, VProj, CProj *Linear
	Heads                      int
}

// NewAttentionPool2d returns a pool over a spatial×spatial map of d
// channels, with the given heads and output size.
func NewAttentionPool2d(rng *rand.Rand, spatial, d, heads, out int) *AttentionPool2d {
	return &AttentionPool2d{
		PositionalEmbedding: randN(rng, float32(1/math.Sqrt(float64(d))), spatial*spatial+1, d),
		KProj:               NewLinear(rng, d, d, true),
		QProj:               NewLinear(rng, d, d, true),
		VProj:               NewLinear(rng, d, d, true),
		CProj:               NewLinear(rng, d, out, true),
		Heads:               heads,
	}
}

// Forward pools x (N, D, S, S) to (N, out).
func (a *AttentionPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, d := x.Dim(0), x.Dim(1)
	x = x.Reshape(n, d, -1).Permute(0, 2, 1) // (N, S², D)
	tokens := tensor.Concat(1, tensor.MeanDim(x, 1, true), x)
	x = tensor.Add(tokens, a.PositionalEmbedding) // (N, S²+1, D)
	tokens.Recycle()
	if x.IsInference() {
		out := a.CProj.Forward(a.attendFolded(a.QProj.Forward(x.Narrow(1, 0, 1)), x)).Select(1, 0)
		x.Recycle()
		return out
	}
	q := splitHeads(a.QProj.Forward(x.Narrow(1, 0, 1)), a.Heads)
	k := splitHeads(a.KProj.Forward(x), a.Heads)
	v := splitHeads(a.VProj.Forward(x), a.Heads)
	o := mergeHeads(tensor.ScaledDotProductAttention(q, k, v, nil)) // (N, 1, D)
	return a.CProj.Forward(o).Select(1, 0)
}

// attendFolded computes the attention of the one query per image q
// (N, 1, D) over the tokens x (N, L, D), its heads merged to (N, 1, D),
// with the key and value projections folded into the query and the
// attention's output instead of applied to every token. Per head h, with
// Wk_h and Wv_h the head's rows of the projections and a the attention
// weights,
//
//	q·(Wk_h x_j + bk_h) = (qᵀWk_h)·x_j + q·bk_h
//	Σ_j a_j (Wv_h x_j + bv_h) = Wv_h (Σ_j a_j x_j) + bv_h     (Σ_j a_j = 1)
//
// which costs 2·D² + 2·H·L·D multiply-adds per image instead of the
// projections' 2·L·D² (for RN50, 15 M instead of 420 M). The products with
// the weights take the images as rows, so each head's weights are packed
// once per batch. The values equal the unfolded ones up to rounding, not
// bit for bit; it serves inference, whose results are the same on every ISA
// and thread count either way, while training keeps the projections.
func (a *AttentionPool2d) attendFolded(q, x *tensor.Tensor) *tensor.Tensor {
	n, d, h := x.Dim(0), x.Dim(2), a.Heads
	hd := d / h
	q = tensor.MulScalar(q, float32(1/math.Sqrt(float64(hd))))
	qh := q.Reshape(n, h, hd).Permute(1, 0, 2)               // (H, N, hd)
	u := tensor.MatMul(qh, a.KProj.Weight.Reshape(h, hd, d)) // (H, N, D)
	scores := tensor.MatMul(u.Permute(1, 0, 2), x.T())       // (N, H, L)
	u.Recycle()
	if a.KProj.Bias != nil {
		c := tensor.MatMul(qh, a.KProj.Bias.Reshape(h, hd, 1)) // (H, N, 1)
		scores = tensor.Add(scores, c.Permute(1, 0, 2))
	}
	pooled := tensor.MatMul(tensor.Softmax(scores, -1), x)                            // (N, H, D)
	o := tensor.MatMul(pooled.Permute(1, 0, 2), a.VProj.Weight.Reshape(h, hd, d).T()) // (H, N, hd)
	pooled.Recycle()
	if a.VProj.Bias != nil {
		o = tensor.Add(o, a.VProj.Bias.Reshape(h, 1, hd))
	}
	return o.Permute(1, 0, 2).Reshape(n, 1, d)
}

// splitHeads turns (N, L, H·hd) into the view (N, H, L, hd).
func splitHeads(x *tensor.Tensor, heads int) *tensor.Tensor {
	n, l, d := x.Dim(0), x.Dim(1), x.Dim(2)
	return x.Reshape(n, l, heads, d/heads).Permute(0, 2, 1, 3)
}

// Params lists the positional embedding.
func (a *AttentionPool2d) Params(visit func(string, *tensor.Tensor)) {
	visit("positional_embedding", a.PositionalEmbedding)
}

// Children lists k_proj, q_proj, v_proj and c_proj (PyTorch's order).
func (a *AttentionPool2d) Children(visit func(string, Module)) {
	visit("k_proj", a.KProj)
	visit("q_proj", a.QProj)
	visit("v_proj", a.VProj)
	visit("c_proj", a.CProj)
}

// SetTap sets the callback that receives intermediate activations.
func (r *ModifiedResNet) SetTap(tap func(name string, x *tensor.Tensor)) { r.Tap = tap }
