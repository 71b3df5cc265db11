package tensor

import (
	"fmt"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/kernels"
)

// Dropout zeroes each element of x with probability p and scales the others
// by 1/(1-p) (inverted dropout), so that the expected value is unchanged and
// evaluation needs no rescaling. The mask is drawn from rng, one number per
// element in row-major order, so equal seeds drop equal elements. When train
// is false or p is 0 it returns x itself. The gradient passes through the
// kept elements with the same scale. It panics unless 0 ≤ p < 1, or if rng
// is nil when a mask is needed.
func Dropout(x *Tensor, p float32, rng *rand.Rand, train bool) *Tensor {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("tensor: Dropout: probability %v outside [0, 1)", p))
	}
	if !train || p == 0 {
		return x
	}
	if rng == nil {
		panic("tensor: Dropout: nil random source")
	}
	scale := 1 / (1 - p)
	mask := make([]float32, x.Numel())
	for i := range mask {
		if rng.Float32() >= p {
			mask[i] = scale
		}
	}
	xc := x.Detach().Contiguous()
	out := Zeros(x.shape...)
	kernels.Mul(out.data, xc.Data(), mask)
	return record(out, "Dropout", func() {
		if !x.requiresGrad {
			return
		}
		dx := make([]float32, len(mask))
		kernels.Mul(dx, out.grad.data, mask)
		addTo(x.gradData(), dx)
	}, x)
}
