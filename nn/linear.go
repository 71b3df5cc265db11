package nn

import (
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// Linear is a fully connected layer y = x·Wᵀ + b, PyTorch's nn.Linear.
type Linear struct {
	Weight *tensor.Tensor // (out, in)
	Bias   *tensor.Tensor // (out), or nil
}

// NewLinear returns a Linear layer initialised like PyTorch's: weight and
// bias uniform in ±1/√in.
func NewLinear(rng *rand.Rand, in, out int, bias bool) *Linear {
	bound := float32(1 / math.Sqrt(float64(in)))
	l := &Linear{Weight: uniform(rng, bound, out, in)}
	if bias {
		l.Bias = uniform(rng, bound, out)
	}
	return l
}

// Forward maps x (…, in) to (…, out).
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Linear(x, l.Weight, l.Bias)
}

// forwardAdd returns Forward(x) + residual, or Forward(x) when residual
// is nil, the sum made as the product is stored (tensor.LinearAdd).
func (l *Linear) forwardAdd(x, residual *tensor.Tensor) *tensor.Tensor {
	if residual == nil {
		return l.Forward(x)
	}
	return tensor.LinearAdd(x, l.Weight, l.Bias, residual)
}

// Params lists weight and bias.
func (l *Linear) Params(visit func(string, *tensor.Tensor)) {
	visit("weight", l.Weight)
	if l.Bias != nil {
		visit("bias", l.Bias)
	}
}
