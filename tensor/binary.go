package tensor

import "github.com/vlpuda/vlpuda/kernels"

// binaryOp evaluates f elementwise over the broadcast of a and b into a new
// contiguous tensor. fast, when not nil, handles the common case of equal
// shapes with both operands contiguous.
func binaryOp(op string, a, b *Tensor, f func(x, y float32) float32, fast func(dst, x, y []float32)) *Tensor {
	shape := broadcastShape(op, a.shape, b.shape)
	out := Zeros(shape...)
	if fast != nil && sameShape(a.shape, b.shape) && a.IsContiguous() && b.IsContiguous() {
		fast(out.data, a.Data(), b.Data())
		return out
	}
	as, bs := broadcastStrides(a, shape), broadcastStrides(b, shape)
	ad, bd := a.data[a.offset:], b.data[b.offset:]
	walk(shape, [][]int{contiguousStrides(shape), as, bs}, func(offs []int, n int, inner []int) {
		o, x, y := out.data[offs[0]:offs[0]+n], offs[1], offs[2]
		for i := range o {
			o[i] = f(ad[x+i*inner[1]], bd[y+i*inner[2]])
		}
	})
	return out
}

// Add returns a + b, broadcasting.
func Add(a, b *Tensor) *Tensor {
	out := binaryOp("Add", a, b, func(x, y float32) float32 { return x + y }, kernels.Add)
	return record(out, "Add", func() {
		g := out.grad.data
		if a.requiresGrad {
			reduceGradTo(a, g, out.shape)
		}
		if b.requiresGrad {
			reduceGradTo(b, g, out.shape)
		}
	}, a, b)
}

// Sub returns a - b, broadcasting.
func Sub(a, b *Tensor) *Tensor {
	out := binaryOp("Sub", a, b, func(x, y float32) float32 { return x - y }, nil)
	return record(out, "Sub", func() {
		g := out.grad.data
		if a.requiresGrad {
			reduceGradTo(a, g, out.shape)
		}
		if b.requiresGrad {
			neg := make([]float32, len(g))
			kernels.Scale(neg, -1, g)
			reduceGradTo(b, neg, out.shape)
		}
	}, a, b)
}

// Mul returns a * b elementwise, broadcasting.
func Mul(a, b *Tensor) *Tensor {
	out := binaryOp("Mul", a, b, func(x, y float32) float32 { return x * y }, kernels.Mul)
	return record(out, "Mul", func() {
		g := out.grad
		if a.requiresGrad {
			reduceGradTo(a, binaryOp("Mul", g, b.Detach(), func(x, y float32) float32 { return x * y }, kernels.Mul).data, out.shape)
		}
		if b.requiresGrad {
			reduceGradTo(b, binaryOp("Mul", g, a.Detach(), func(x, y float32) float32 { return x * y }, kernels.Mul).data, out.shape)
		}
	}, a, b)
}

// Div returns a / b elementwise, broadcasting.
func Div(a, b *Tensor) *Tensor {
	out := binaryOp("Div", a, b, func(x, y float32) float32 { return x / y }, nil)
	return record(out, "Div", func() {
		g := out.grad
		if a.requiresGrad {
			reduceGradTo(a, binaryOp("Div", g, b.Detach(), func(x, y float32) float32 { return x / y }, nil).data, out.shape)
		}
		if b.requiresGrad {
			// d(a/b)/db = -out/b
			q := binaryOp("Div", out.Detach(), b.Detach(), func(x, y float32) float32 { return -x / y }, nil)
			reduceGradTo(b, binaryOp("Mul", g, q, func(x, y float32) float32 { return x * y }, kernels.Mul).data, out.shape)
		}
	}, a, b)
}
