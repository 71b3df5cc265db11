package nn

import (
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// VisionTransformer is CLIP's ViT image tower: patch embedding by a strided
// convolution, a class token, positional embeddings, ln_pre, the transformer,
// ln_post on the class token and a projection to the embedding space.
type VisionTransformer struct {
	Conv1               *Conv2d        // (width, 3, patch, patch), no bias
	ClassEmbedding      *tensor.Tensor // (width)
	PositionalEmbedding *tensor.Tensor // (grid²+1, width)
	LnPre               *LayerNorm
	Transformer         *Transformer
	LnPost              *LayerNorm
	Proj                *tensor.Tensor // (width, embed)

	// Tap, if not nil, is called with intermediate activations
	// ("conv1_out", "ln_pre_out", "resblocks.{i}.out", "ln_post_out").
	Tap func(name string, x *tensor.Tensor)
}

// ViTConfig is the shape of a VisionTransformer.
type ViTConfig struct {
	Resolution, Patch, Width, Layers, Heads, Embed int
}

// NewVisionTransformer returns a randomly initialised ViT tower with CLIP's
// initialisation scales.
func NewVisionTransformer(rng *rand.Rand, c ViTConfig) *VisionTransformer {
	grid := c.Resolution / c.Patch
	scale := float32(1 / sqrtInt(c.Width))
	return &VisionTransformer{
		Conv1:               NewConv2d(rng, 3, c.Width, c.Patch, c.Patch, 0, false),
		ClassEmbedding:      randN(rng, scale, c.Width),
		PositionalEmbedding: randN(rng, scale, grid*grid+1, c.Width),
		LnPre:               NewLayerNorm(c.Width, 1e-5),
		Transformer:         NewTransformer(rng, c.Width, c.Layers, c.Heads),
		LnPost:              NewLayerNorm(c.Width, 1e-5),
		Proj:                randN(rng, scale, c.Width, c.Embed),
	}
}

// Forward maps images (N, 3, R, R) to features (N, embed), not normalised.
func (v *VisionTransformer) Forward(images *tensor.Tensor) *tensor.Tensor {
	patches := v.Conv1.Forward(images) // (N, width, g, g)
	v.tap("conv1_out", patches)
	n, w := patches.Dim(0), patches.Dim(1)
	x := patches.Reshape(n, w, -1).Permute(0, 2, 1) // (N, g², width), token = row·g + col
	cls := v.ClassEmbedding.Reshape(1, 1, w).Expand(n, 1, w)
	tokens := tensor.Concat(1, cls, x)
	x = tensor.Add(tokens, v.PositionalEmbedding)
	// In inference, hand the storage of what is used up to the next
	// layers (tensor.Recycle; a no-op in training), which would otherwise
	// fault fresh pages in for every batch; tapped tensors stay.
	tokens.Recycle()
	if v.Tap == nil {
		patches.Recycle()
	}
	embedded := x
	x = v.LnPre.Forward(x)
	embedded.Recycle()
	v.tap("ln_pre_out", x)
	if v.Tap != nil {
		// Set only when tapping, so that concurrent forward passes do not
		// write the shared model.
		v.Transformer.Tap = v.Tap
		defer func() { v.Transformer.Tap = nil }()
	}
	y := v.Transformer.Forward(x, nil)
	if v.Tap == nil {
		x.Recycle()
	}
	x = y
	x = v.LnPost.Forward(x.Select(1, 0))
	v.tap("ln_post_out", x)
	return tensor.MatMul(x, v.Proj)
}

func (v *VisionTransformer) tap(name string, x *tensor.Tensor) {
	if v.Tap != nil {
		v.Tap(name, x)
	}
}

// Params lists class_embedding, positional_embedding and proj.
func (v *VisionTransformer) Params(visit func(string, *tensor.Tensor)) {
	visit("class_embedding", v.ClassEmbedding)
	visit("positional_embedding", v.PositionalEmbedding)
	visit("proj", v.Proj)
}

// Children lists conv1, ln_pre, transformer and ln_post.
func (v *VisionTransformer) Children(visit func(string, Module)) {
	visit("conv1", v.Conv1)
	visit("ln_pre", v.LnPre)
	visit("transformer", v.Transformer)
	visit("ln_post", v.LnPost)
}

// scaled multiplies t by s in place and marks it trainable.
func scaled(t *tensor.Tensor, s float32) *tensor.Tensor {
	d := t.Data()
	for i := range d {
		d[i] *= s
	}
	return t.SetRequiresGrad(true)
}

func sqrtInt(n int) float64 { return math.Sqrt(float64(n)) }

// SetTap sets the callback that receives intermediate activations.
func (v *VisionTransformer) SetTap(tap func(name string, x *tensor.Tensor)) { v.Tap = tap }
