package tensor

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
)

// This file holds the elementwise functions of one tensor. Each is a forward
// loop f and a derivative loop df handed to unary, which owns the layout,
// the parallel split and the gradient accumulation.

// unaryGrain is the smallest chunk of elements worth handing to another
// thread: below it the hand-off costs more than the loop.
const unaryGrain = 1 << 15

// unary returns f applied elementwise to x, a new contiguous tensor of x's
// shape. f computes dst[i] = f(src[i]); df computes dx[i] = dy[i]·f'(x[i])
// from the output gradient dy, the input x and the output y (all contiguous,
// of equal length), overwriting dx. Both run on chunks in parallel for large
// tensors, so they must treat elements independently.
func unary(op string, x *Tensor, f func(dst, src []float32), df func(dx, dy, x, y []float32)) *Tensor {
	xc := x.Detach().Contiguous() // the input as a dense slice; a copy only for views
	out := Zeros(x.shape...)
	src, dst := xc.Data(), out.data
	kernels.ParallelFor(len(dst), unaryGrain, func(lo, hi int) {
		f(dst[lo:hi], src[lo:hi])
	})
	return record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		dy, y := out.grad.data, out.data
		// The first gradient to arrive can be written in place; later ones
		// go through a scratch buffer so that they add up.
		fresh := x.grad == nil
		dx := x.gradData()
		if !fresh {
			dx = make([]float32, len(dy))
		}
		kernels.ParallelFor(len(dx), unaryGrain, func(lo, hi int) {
			df(dx[lo:hi], dy[lo:hi], src[lo:hi], y[lo:hi])
		})
		if !fresh {
			addTo(x.gradData(), dx)
		}
	}, x)
}

// Neg returns -x elementwise.
func Neg(x *Tensor) *Tensor {
	return unary("Neg", x,
		func(dst, src []float32) { kernels.Scale(dst, -1, src) },
		func(dx, dy, _, _ []float32) { kernels.Scale(dx, -1, dy) })
}

// Exp returns eˣ elementwise.
func Exp(x *Tensor) *Tensor {
	return unary("Exp", x, kernels.Exp,
		func(dx, dy, _, y []float32) { kernels.Mul(dx, dy, y) })
}

// Log returns the natural logarithm of x elementwise: -Inf at 0 and NaN
// below.
func Log(x *Tensor) *Tensor {
	return unary("Log", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(detmath.Log(float64(v)))
			}
		},
		func(dx, dy, x, _ []float32) {
			for i, g := range dy {
				dx[i] = g / x[i]
			}
		})
}

// Sqrt returns √x elementwise.
func Sqrt(x *Tensor) *Tensor {
	return unary("Sqrt", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(math.Sqrt(float64(v)))
			}
		},
		func(dx, dy, _, y []float32) {
			for i, g := range dy {
				dx[i] = 0.5 * g / y[i]
			}
		})
}

// Rsqrt returns 1/√x elementwise.
func Rsqrt(x *Tensor) *Tensor {
	return unary("Rsqrt", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(1 / math.Sqrt(float64(v)))
			}
		},
		func(dx, dy, _, y []float32) {
			// d/dx x^(-1/2) = -x^(-3/2)/2 = -y³/2.
			for i, g := range dy {
				dx[i] = -0.5 * g * y[i] * y[i] * y[i]
			}
		})
}

// Square returns x² elementwise.
func Square(x *Tensor) *Tensor {
	return unary("Square", x,
		func(dst, src []float32) { kernels.Mul(dst, src, src) },
		func(dx, dy, x, _ []float32) {
			for i, g := range dy {
				dx[i] = 2 * g * x[i]
			}
		})
}

// Pow returns xᵖ elementwise, following math.Pow: NaN for a negative x and
// a non-integer p.
func Pow(x *Tensor, p float32) *Tensor {
	pf := float64(p)
	return unary("Pow", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(detmath.Pow(float64(v), pf))
			}
		},
		func(dx, dy, x, _ []float32) {
			for i, g := range dy {
				dx[i] = g * float32(pf*detmath.Pow(float64(x[i]), pf-1))
			}
		})
}

// Abs returns |x| elementwise. Its gradient is sign(x), 0 at 0.
func Abs(x *Tensor) *Tensor {
	return unary("Abs", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(math.Abs(float64(v)))
			}
		},
		func(dx, dy, x, _ []float32) {
			for i, g := range dy {
				switch {
				case x[i] > 0:
					dx[i] = g
				case x[i] < 0:
					dx[i] = -g
				default:
					dx[i] = 0
				}
			}
		})
}

// Sigmoid returns the logistic function 1/(1+e⁻ˣ) elementwise.
func Sigmoid(x *Tensor) *Tensor {
	return unary("Sigmoid", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = sigmoid(v)
			}
		},
		func(dx, dy, _, y []float32) {
			for i, g := range dy {
				dx[i] = g * y[i] * (1 - y[i])
			}
		})
}

// sigmoid is the logistic function without overflow: e⁻ˣ is only evaluated
// for x ≥ 0 and eˣ only for x < 0.
func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + detmath.Exp(-float64(v))))
	}
	e := detmath.Exp(float64(v))
	return float32(e / (1 + e))
}

// Tanh returns the hyperbolic tangent of x elementwise.
func Tanh(x *Tensor) *Tensor {
	return unary("Tanh", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(detmath.Tanh(float64(v)))
			}
		},
		func(dx, dy, _, y []float32) {
			for i, g := range dy {
				dx[i] = g * (1 - float32(y[i]*y[i]))
			}
		})
}

// ReLU returns max(x, 0) elementwise; NaN stays NaN. Its gradient is 1 where
// x > 0 and 0 elsewhere.
func ReLU(x *Tensor) *Tensor {
	return unary("ReLU", x, kernels.ReLU,
		func(dx, dy, x, _ []float32) { kernels.ReLUBackward(dx, dy, x) })
}

// GELU returns x·Φ(x) elementwise, with Φ the standard normal CDF in its
// exact erf form (PyTorch's default GELU).
func GELU(x *Tensor) *Tensor {
	return unary("GELU", x, kernels.GELU,
		func(dx, dy, x, _ []float32) { kernels.GELUBackward(dx, dy, x) })
}

// QuickGELU returns x·σ(1.702x) elementwise, the GELU approximation of
// OpenAI's CLIP.
func QuickGELU(x *Tensor) *Tensor {
	return unary("QuickGELU", x, kernels.QuickGELU,
		func(dx, dy, x, _ []float32) { kernels.QuickGELUBackward(dx, dy, x) })
}

// Clamp returns x limited to [lo, hi] elementwise; NaN stays NaN. Pass ±Inf
// for a one-sided bound. The gradient flows where lo ≤ x ≤ hi, as in
// PyTorch. It panics if lo > hi.
func Clamp(x *Tensor, lo, hi float32) *Tensor {
	if lo > hi {
		panic(fmt.Sprintf("tensor: Clamp: lower bound %v is above upper bound %v", lo, hi))
	}
	return unary("Clamp", x,
		func(dst, src []float32) {
			for i, v := range src {
				dst[i] = min(max(v, lo), hi)
			}
		},
		func(dx, dy, x, _ []float32) {
			for i, g := range dy {
				if x[i] >= lo && x[i] <= hi {
					dx[i] = g
				} else {
					dx[i] = 0
				}
			}
		})
}
