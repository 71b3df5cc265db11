package nn

import (
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// LayerNorm normalises over the last dimension, PyTorch's nn.LayerNorm. It
// always computes in float32, as CLIP's fp16-safe subclass does.
type LayerNorm struct {
	Weight *tensor.Tensor // (D), or nil
	Bias   *tensor.Tensor // (D), or nil
	Eps    float32
}

// NewLayerNorm returns a LayerNorm over d features with weight 1, bias 0.
func NewLayerNorm(d int, eps float32) *LayerNorm {
	return &LayerNorm{Weight: tensor.Ones(d).SetRequiresGrad(true), Bias: tensor.Zeros(d).SetRequiresGrad(true), Eps: eps}
}

// Forward normalises x (…, D).
func (l *LayerNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// Params lists weight and bias.
func (l *LayerNorm) Params(visit func(string, *tensor.Tensor)) {
	if l.Weight != nil {
		visit("weight", l.Weight)
	}
	if l.Bias != nil {
		visit("bias", l.Bias)
	}
}

// BatchNorm is PyTorch's BatchNorm1d/2d: it normalises (N, C, …) over every
// dimension but C. In training mode it uses the batch's statistics and
// updates the running ones; in evaluation mode, or always when FreezeStats is
// set, it uses the running statistics (the affine weight and bias still train).
type BatchNorm struct {
	Weight, Bias            *tensor.Tensor // (C)
	RunningMean, RunningVar *tensor.Tensor // (C)
	NumBatchesTracked       *tensor.Tensor // scalar, kept for state-dict compatibility
	Momentum, Eps           float32
	FreezeStats             bool

	training bool
	packed   bool        // while PackWeights holds the norm
	folded   [][]float32 // while packed, the scale and shift once computed
}

// NewBatchNorm returns a BatchNorm over c channels with PyTorch's defaults
// (weight 1, bias 0, running mean 0, running variance 1, momentum 0.1, eps 1e-5).
func NewBatchNorm(c int) *BatchNorm {
	return &BatchNorm{
		Weight: tensor.Ones(c).SetRequiresGrad(true), Bias: tensor.Zeros(c).SetRequiresGrad(true),
		RunningMean: tensor.Zeros(c), RunningVar: tensor.Ones(c), NumBatchesTracked: tensor.Zeros(),
		Momentum: 0.1, Eps: 1e-5,
	}
}

// Forward normalises x (N, C, …).
func (b *BatchNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	return b.forward(tensor.BatchNorm, x)
}

// ForwardReLU is tensor.ReLU(b.Forward(x)) in one operation
// (tensor.BatchNormReLU).
func (b *BatchNorm) ForwardReLU(x *tensor.Tensor) *tensor.Tensor {
	return b.forward(tensor.BatchNormReLU, x)
}

func (b *BatchNorm) forward(op func(x, weight, bias, runningMean, runningVar *tensor.Tensor, train bool, momentum, eps float32) *tensor.Tensor, x *tensor.Tensor) *tensor.Tensor {
	train := b.training && !b.FreezeStats
	if train {
		b.NumBatchesTracked.Data()[0]++
		b.folded = nil // the running statistics change
	}
	return op(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, train, b.Momentum, b.Eps)
}

// frozenScaleShift returns the norm of x as a map y = scale·x + shift per
// channel (tensor.BatchNormScaleShift) when it uses its running statistics
// and no gradient is wanted for its weight or bias (x is an inference
// tensor, or they require none); ok is false otherwise. While the norm is
// packed for inference (PackWeights), whose contract keeps its parameters
// as they are, the map is computed once, and again only after a pass in
// training mode has changed the running statistics.
func (b *BatchNorm) frozenScaleShift(x *tensor.Tensor) (scale, shift []float32, ok bool) {
	if b.training && !b.FreezeStats {
		return nil, nil, false
	}
	for _, p := range []*tensor.Tensor{b.Weight, b.Bias} {
		if p != nil && p.RequiresGrad() && !x.IsInference() {
			return nil, nil, false
		}
	}
	if b.folded != nil {
		return b.folded[0], b.folded[1], true
	}
	scale, shift = tensor.BatchNormScaleShift(b.Weight, b.Bias, b.RunningMean, b.RunningVar, b.Eps)
	if b.packed {
		b.folded = [][]float32{scale, shift}
	}
	return scale, shift, true
}

// Params lists weight and bias.
func (b *BatchNorm) Params(visit func(string, *tensor.Tensor)) {
	visit("weight", b.Weight)
	visit("bias", b.Bias)
}

// Buffers lists the running statistics.
func (b *BatchNorm) Buffers(visit func(string, *tensor.Tensor)) {
	visit("running_mean", b.RunningMean)
	visit("running_var", b.RunningVar)
	visit("num_batches_tracked", b.NumBatchesTracked)
}

// SetTraining switches between batch and running statistics.
func (b *BatchNorm) SetTraining(on bool) { b.training = on }

// Conv2d is a 2-D convolution over NCHW input, PyTorch's nn.Conv2d with
// groups 1 and dilation 1.
type Conv2d struct {
	Weight  *tensor.Tensor // (K, C, R, S); nil while packed (see PackWeights)
	Bias    *tensor.Tensor // (K), or nil
	Stride  [2]int
	Padding [2]int

	packed *tensor.PackedConv // the weight, while packed
}

// NewConv2d returns a Conv2d initialised like PyTorch's (uniform ±1/√fan_in).
func NewConv2d(rng *rand.Rand, in, out, kernel, stride, padding int, bias bool) *Conv2d {
	fanIn := in * kernel * kernel
	bound := float32(1 / math.Sqrt(float64(fanIn)))
	c := &Conv2d{
		Weight: uniform(rng, bound, out, in, kernel, kernel),
		Stride: [2]int{stride, stride}, Padding: [2]int{padding, padding},
	}
	if bias {
		c.Bias = uniform(rng, bound, out)
	}
	return c
}

// Forward convolves x (N, C, H, W).
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if c.packed != nil {
		return c.packed.Conv2d(x, c.Bias, c.Stride, c.Padding)
	}
	return tensor.Conv2d(x, c.Weight, c.Bias, c.Stride, c.Padding)
}

// Params lists weight and bias. It panics while the weight is packed.
func (c *Conv2d) Params(visit func(string, *tensor.Tensor)) {
	if c.packed != nil {
		panic(errPacked)
	}
	visit("weight", c.Weight)
	if c.Bias != nil {
		visit("bias", c.Bias)
	}
}

// Embedding maps ids to rows of a table, PyTorch's nn.Embedding.
type Embedding struct {
	Weight *tensor.Tensor // (V, D)
}

// NewEmbedding returns an embedding of n ids with d features, N(0, 1) like PyTorch.
func NewEmbedding(rng *rand.Rand, n, d int) *Embedding {
	return &Embedding{Weight: randN(rng, 1, n, d)}
}

// Forward returns the rows for ids, shaped (shape…, D).
func (e *Embedding) Forward(ids []int, shape ...int) *tensor.Tensor {
	return tensor.Embedding(e.Weight, ids, shape...)
}

// Params lists the table.
func (e *Embedding) Params(visit func(string, *tensor.Tensor)) { visit("weight", e.Weight) }

// Dropout zeroes elements with probability P during training and scales the
// rest by 1/(1−P); it is the identity in evaluation mode.
type Dropout struct {
	P   float32
	RNG *rand.Rand

	training bool
}

// Forward applies dropout to x.
func (d *Dropout) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Dropout(x, d.P, d.RNG, d.training)
}

// Params lists nothing: Dropout has no parameters.
func (d *Dropout) Params(func(string, *tensor.Tensor)) {}

// SetTraining switches dropout on or off.
func (d *Dropout) SetTraining(on bool) { d.training = on }
