package tensor

import "github.com/vlpuda/vlpuda/kernels"

// AddScalar returns x + c elementwise.
func AddScalar(x *Tensor, c float32) *Tensor {
	return unary("AddScalar", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = v + c
			}
		},
		func(dx, dy, _, _ []float32) { copy(dx, dy) })
}

// MulScalar returns c·x elementwise.
func MulScalar(x *Tensor, c float32) *Tensor {
	return unary("MulScalar", x,
		func(dst, src []float32) { kernels.Scale(dst, c, src) },
		func(dx, dy, _, _ []float32) { kernels.Scale(dx, c, dy) })
}
