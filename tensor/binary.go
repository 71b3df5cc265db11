package tensor

import "github.com/vlpuda/vlpuda/kernels"

// A rowFunc computes n elements dst[i] = x[i·xs] ⊙ y[i·ys] of a binary
// operation, where a stride of 0 repeats one value (broadcasting). Each
// operation's rowFunc sends the common layouts to a vector kernel, so the
// broadcasting walk costs one call per row, not per element.
type rowFunc func(dst, x []float32, xs int, y []float32, ys int)

// binaryOp evaluates row elementwise over the broadcast of a and b into a
// new contiguous tensor.
func binaryOp(op string, a, b *Tensor, row rowFunc) *Tensor {
	shape := broadcastShape(op, a.shape, b.shape)
	out := newOutput([]*Tensor{a, b}, shape...) // every element is written
	if sameShape(a.shape, b.shape) && a.IsContiguous() && b.IsContiguous() {
		row(out.data, a.Data(), 1, b.Data(), 1)
		return out
	}
	as, bs := broadcastStrides(a, shape), broadcastStrides(b, shape)
	ad, bd := a.data[a.offset:], b.data[b.offset:]
	walk(shape, [][]int{contiguousStrides(shape), as, bs}, func(offs []int, n int, inner []int) {
		row(out.data[offs[0]:offs[0]+n], ad[offs[1]:], inner[1], bd[offs[2]:], inner[2])
	})
	return out
}

// rowOp builds a rowFunc from the scalar operation f, a kernel for two
// unit-stride operands and, optionally, one for a unit-stride x and a
// repeated y.
func rowOp(f func(x, y float32) float32, vec func(dst, x, y []float32), constY func(dst, x []float32, y float32)) rowFunc {
	return func(dst, x []float32, xs int, y []float32, ys int) {
		n := len(dst)
		switch {
		case xs == 1 && ys == 1 && vec != nil:
			vec(dst, x[:n], y[:n])
		case xs == 1 && ys == 0 && constY != nil:
			constY(dst, x[:n], y[0])
		default:
			for i := range dst {
				dst[i] = f(x[i*xs], y[i*ys])
			}
		}
	}
}

var (
	addRow = rowOp(func(x, y float32) float32 { return x + y }, kernels.Add,
		func(dst, x []float32, c float32) { kernels.AddConst(dst, c, x) })
	subRow = rowOp(func(x, y float32) float32 { return x - y }, kernels.Sub,
		func(dst, x []float32, c float32) { kernels.AddConst(dst, -c, x) })
	mulRow = rowOp(func(x, y float32) float32 { return float32(x * y) }, kernels.Mul,
		func(dst, x []float32, c float32) { kernels.Scale(dst, c, x) })
	divRow = rowOp(func(x, y float32) float32 { return x / y }, nil, nil)
	// negDivRow computes −x/y, the gradient factor of a/b with respect to b.
	negDivRow = rowOp(func(x, y float32) float32 { return -x / y }, nil, nil)
)

// Add returns a + b, broadcasting.
func Add(a, b *Tensor) *Tensor {
	out := binaryOp("Add", a, b, addRow)
	return record(out, "Add", func() {
		g := out.grad.data
		// a may keep the output's gradient; b then needs its own copy.
		if a.requiresGrad {
			reduceGradTo(a, g, out.shape, true)
		}
		if b.requiresGrad {
			reduceGradTo(b, g, out.shape, !a.requiresGrad)
		}
	}, a, b)
}

// AddReLU returns ReLU(a + b), the end of a residual block, as one
// operation when a and b have the same shape: one pass over memory and the
// same results bit for bit. Other shapes broadcast as Add does, in two
// operations.
func AddReLU(a, b *Tensor) *Tensor {
	if !sameShape(a.shape, b.shape) {
		return ReLU(Add(a, b))
	}
	out := newOutput([]*Tensor{a, b}, a.shape...) // every element is written
	kernels.AddReLU(out.data, a.Detach().Contiguous().Data(), b.Detach().Contiguous().Data())
	return record(out, "AddReLU", func() {
		// Through the ReLU in place (out's gradient is released after
		// this closure), then to both operands as in Add.
		g := out.grad.data
		kernels.ReLUBackward(g, g, out.data)
		if a.requiresGrad {
			reduceGradTo(a, g, out.shape, true)
		}
		if b.requiresGrad {
			reduceGradTo(b, g, out.shape, !a.requiresGrad)
		}
	}, a, b)
}

// Sub returns a - b, broadcasting.
func Sub(a, b *Tensor) *Tensor {
	out := binaryOp("Sub", a, b, subRow)
	return record(out, "Sub", func() {
		g := out.grad.data
		if a.requiresGrad {
			reduceGradTo(a, g, out.shape, true)
		}
		if b.requiresGrad {
			neg := make([]float32, len(g))
			kernels.Scale(neg, -1, g)
			reduceGradTo(b, neg, out.shape, true)
		}
	}, a, b)
}

// Mul returns a * b elementwise, broadcasting.
func Mul(a, b *Tensor) *Tensor {
	out := binaryOp("Mul", a, b, mulRow)
	return record(out, "Mul", func() {
		g := out.grad
		if a.requiresGrad {
			reduceGradTo(a, binaryOp("Mul", g, b.Detach(), mulRow).data, out.shape, true)
		}
		if b.requiresGrad {
			reduceGradTo(b, binaryOp("Mul", g, a.Detach(), mulRow).data, out.shape, true)
		}
	}, a, b)
}

// Div returns a / b elementwise, broadcasting.
func Div(a, b *Tensor) *Tensor {
	out := binaryOp("Div", a, b, divRow)
	return record(out, "Div", func() {
		g := out.grad
		if a.requiresGrad {
			reduceGradTo(a, binaryOp("Div", g, b.Detach(), divRow).data, out.shape, true)
		}
		if b.requiresGrad {
			// d(a/b)/db = −out/b
			q := binaryOp("Div", out.Detach(), b.Detach(), negDivRow)
			reduceGradTo(b, binaryOp("Mul", g, q, mulRow).data, out.shape, true)
		}
	}, a, b)
}
