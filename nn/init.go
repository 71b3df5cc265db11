package nn

import (
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/tensor"
)

// randN returns a trainable tensor of N(0, 1) samples times s, or zeros
// when rng is nil.
func randN(rng *rand.Rand, s float32, shape ...int) *tensor.Tensor {
	if rng == nil {
		return tensor.Zeros(shape...).SetRequiresGrad(true)
	}
	return scaled(tensor.RandN(rng, shape...), s)
}

// uniform returns a trainable tensor of samples uniform in [-bound, bound),
// or zeros when rng is nil.
func uniform(rng *rand.Rand, bound float32, shape ...int) *tensor.Tensor {
	if rng == nil {
		return tensor.Zeros(shape...).SetRequiresGrad(true)
	}
	return tensor.RandUniform(rng, -bound, bound, shape...).SetRequiresGrad(true)
}
