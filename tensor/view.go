package tensor

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/kernels"
)

// view returns a tensor sharing t's storage with the given layout.
func (t *Tensor) view(offset int, shape, strides []int) *Tensor {
	return &Tensor{data: t.data, offset: offset, shape: shape, strides: strides}
}

// Contiguous returns t if it is contiguous and otherwise a contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	out := New(t.Values(), t.shape...)
	return record(out, "Contiguous", func() {
		if t.requiresGrad {
			t.takeGrad(out.grad.data)
		}
	}, t)
}

// Reshape returns a tensor with the same elements in row-major order and the
// given shape. One dimension may be -1 and is then inferred. It is a view when
// t is contiguous and a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = inferShape("Reshape", shape, t.Numel(), t.shape)
	src := t.Contiguous()
	out := src.view(src.offset, shape, contiguousStrides(shape))
	return record(out, "Reshape", func() {
		if src.requiresGrad {
			src.takeGrad(out.grad.data)
		}
	}, src)
}

// Flatten returns t reshaped to one dimension.
func (t *Tensor) Flatten() *Tensor { return t.Reshape(-1) }

func inferShape(op string, shape []int, n int, from []int) []int {
	shape = slices.Clone(shape)
	infer, known := -1, 1
	for i, s := range shape {
		switch {
		case s == -1 && infer < 0:
			infer = i
		case s < 0:
			panic(fmt.Sprintf("tensor: %s: bad shape %s", op, shapefmt.String(shape)))
		default:
			known *= s
		}
	}
	if infer >= 0 && known > 0 && n%known == 0 {
		shape[infer] = n / known
		known *= shape[infer]
	}
	if known != n || (infer >= 0 && shape[infer] < 0) {
		panic(fmt.Sprintf("tensor: %s: cannot reshape %s (%d elements) to %s", op, shapeString(from), n, shapefmt.String(shape)))
	}
	return shape
}

// Permute returns a view with the dimensions reordered: dimension i of the
// result is dimension perm[i] of t.
func (t *Tensor) Permute(perm ...int) *Tensor {
	nd := len(t.shape)
	if len(perm) != nd {
		panic(fmt.Sprintf("tensor: Permute: %d axes for shape %s", len(perm), shapeString(t.shape)))
	}
	perm = slices.Clone(perm)
	seen := make([]bool, nd)
	shape, strides := make([]int, nd), make([]int, nd)
	for i, p := range perm {
		p = t.axis("Permute", p)
		if seen[p] {
			panic(fmt.Sprintf("tensor: Permute: repeated axis in %v", perm))
		}
		seen[p] = true
		perm[i] = p
		shape[i], strides[i] = t.shape[p], t.strides[p]
	}
	out := t.view(t.offset, shape, strides)
	return record(out, "Permute", func() {
		if !t.requiresGrad {
			return
		}
		gs := contiguousStrides(t.shape)
		ds := make([]int, nd)
		for i, p := range perm {
			ds[i] = gs[p]
		}
		addStrided(t.gradData(), ds, out.grad.data, out.grad.strides, shape)
	}, t)
}

// Transpose returns a view with dimensions d0 and d1 swapped.
func (t *Tensor) Transpose(d0, d1 int) *Tensor {
	perm := make([]int, len(t.shape))
	for i := range perm {
		perm[i] = i
	}
	d0, d1 = t.axis("Transpose", d0), t.axis("Transpose", d1)
	perm[d0], perm[d1] = d1, d0
	return t.Permute(perm...)
}

// T returns the transpose of a matrix (the last two dimensions swapped).
func (t *Tensor) T() *Tensor {
	if len(t.shape) < 2 {
		panic(fmt.Sprintf("tensor: T: shape %s has fewer than 2 dimensions", shapeString(t.shape)))
	}
	return t.Transpose(-2, -1)
}

// Narrow returns the view t[..., start:start+length, ...] along dimension dim.
func (t *Tensor) Narrow(dim, start, length int) *Tensor {
	dim = t.axis("Narrow", dim)
	if start < 0 || length < 0 || start+length > t.shape[dim] {
		panic(fmt.Sprintf("tensor: Narrow: [%d:%d] out of range for dimension %d of %s", start, start+length, dim, shapeString(t.shape)))
	}
	shape := slices.Clone(t.shape)
	shape[dim] = length
	out := t.view(t.offset+start*t.strides[dim], shape, slices.Clone(t.strides))
	return record(out, "Narrow", func() {
		if !t.requiresGrad {
			return
		}
		gs := contiguousStrides(t.shape)
		addStrided(t.gradData()[start*gs[dim]:], gs, out.grad.data, out.grad.strides, shape)
	}, t)
}

// Select returns the view of index i along dimension dim, with that
// dimension removed.
func (t *Tensor) Select(dim, i int) *Tensor {
	dim = t.axis("Select", dim)
	return t.Narrow(dim, i, 1).Squeeze(dim)
}

// Expand returns a view that repeats dimensions of size 1 (and new leading
// dimensions) to the given shape without copying, as broadcasting does.
// The gradient sums over the repeated dimensions.
func (t *Tensor) Expand(shape ...int) *Tensor {
	nd, lead := len(shape), len(shape)-len(t.shape)
	if lead < 0 {
		panic(fmt.Sprintf("tensor: Expand: cannot expand %s to %s", shapeString(t.shape), shapefmt.String(shape)))
	}
	strides := make([]int, nd)
	gs := make([]int, nd) // strides into t's gradient, 0 where broadcast
	tg := contiguousStrides(t.shape)
	for i := range nd {
		if i < lead {
			continue
		}
		s := t.shape[i-lead]
		switch {
		case s == shape[i]:
			strides[i], gs[i] = t.strides[i-lead], tg[i-lead]
		case s == 1:
		default:
			panic(fmt.Sprintf("tensor: Expand: cannot expand %s to %s", shapeString(t.shape), shapefmt.String(shape)))
		}
	}
	shape = slices.Clone(shape)
	out := t.view(t.offset, shape, strides)
	return record(out, "Expand", func() {
		if t.requiresGrad {
			addStrided(t.gradData(), gs, out.grad.data, out.grad.strides, shape)
		}
	}, t)
}

// Squeeze removes dimension dim, which must have size 1.
func (t *Tensor) Squeeze(dim int) *Tensor {
	dim = t.axis("Squeeze", dim)
	if t.shape[dim] != 1 {
		panic(fmt.Sprintf("tensor: Squeeze: dimension %d of %s is not 1", dim, shapeString(t.shape)))
	}
	shape := slices.Delete(slices.Clone(t.shape), dim, dim+1)
	strides := slices.Delete(slices.Clone(t.strides), dim, dim+1)
	return t.reshapeView("Squeeze", shape, strides)
}

// Unsqueeze inserts a dimension of size 1 at position dim (0 ≤ dim ≤ NDim;
// negative counts from the end of the result).
func (t *Tensor) Unsqueeze(dim int) *Tensor {
	nd := len(t.shape) + 1
	if dim < 0 {
		dim += nd
	}
	if dim < 0 || dim >= nd {
		panic(fmt.Sprintf("tensor: Unsqueeze: dimension %d out of range for shape %s", dim, shapeString(t.shape)))
	}
	stride := 1
	if dim < len(t.shape) {
		stride = t.strides[dim] * t.shape[dim]
	}
	shape := slices.Insert(slices.Clone(t.shape), dim, 1)
	strides := slices.Insert(slices.Clone(t.strides), dim, stride)
	return t.reshapeView("Unsqueeze", shape, strides)
}

// reshapeView is a view that only adds or removes dimensions of size 1, so
// the gradient is t's gradient with the same elements in the same order.
func (t *Tensor) reshapeView(op string, shape, strides []int) *Tensor {
	out := t.view(t.offset, shape, strides)
	return record(out, op, func() {
		if t.requiresGrad {
			t.takeGrad(out.grad.data)
		}
	}, t)
}

// addTo computes dst += src elementwise.
func addTo(dst, src []float32) { kernels.Axpy(1, src[:len(dst)], dst) }
