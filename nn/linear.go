package nn

import (
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// Linear is a fully connected layer y = x·Wᵀ + b, PyTorch's nn.Linear.
type Linear struct {
	Weight *tensor.Tensor // (out, in); nil while packed (see PackWeights)
	Bias   *tensor.Tensor // (out), or nil

	packed *tensor.PackedWeight // the weight, while packed
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
	return linearOf(x, l.Weight, l.packed, l.Bias)
}

// forwardQuickGELU returns QuickGELU(Forward(x)) as one operation
// (tensor.LinearQuickGELU).
func (l *Linear) forwardQuickGELU(x *tensor.Tensor) *tensor.Tensor {
	if l.packed != nil {
		return l.packed.LinearQuickGELU(x, l.Bias)
	}
	return tensor.LinearQuickGELU(x, l.Weight, l.Bias)
}

// forwardAdd returns Forward(x) + residual, or Forward(x) when residual
// is nil, the sum made as the product is stored (tensor.LinearAdd).
func (l *Linear) forwardAdd(x, residual *tensor.Tensor) *tensor.Tensor {
	if residual == nil {
		return l.Forward(x)
	}
	if l.packed != nil {
		return l.packed.LinearAdd(x, l.Bias, residual)
	}
	return tensor.LinearAdd(x, l.Weight, l.Bias, residual)
}

// Params lists weight and bias. It panics while the weight is packed.
func (l *Linear) Params(visit func(string, *tensor.Tensor)) {
	if l.packed != nil {
		panic(errPacked)
	}
	visit("weight", l.Weight)
	if l.Bias != nil {
		visit("bias", l.Bias)
	}
}
