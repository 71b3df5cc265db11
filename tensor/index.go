package tensor

import (
	"fmt"
	"slices"
)

// This file holds the operations that join tensors or pick elements by
// index or mask. Indices and masks are plain Go slices in row-major order;
// gradients flow to the tensors only.

// Concat joins tensors along dimension dim (negative counts from the end).
// They must have equal shapes except along dim: (2,3) and (4,3) along 0 give
// (6,3). It panics if ts is empty or the shapes do not match.
func Concat(dim int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Concat: no tensors")
	}
	ts = slices.Clone(ts) // the graph keeps the list; the caller may reuse it
	d := ts[0].axis("Concat", dim)
	shape := slices.Clone(ts[0].shape)
	shape[d] = 0
	for _, t := range ts {
		if !sameShapeExcept(t.shape, ts[0].shape, d) {
			panic(fmt.Sprintf("tensor: Concat: shapes %s and %s do not match outside dimension %d", shapeString(ts[0].shape), shapeString(t.shape), d))
		}
		shape[d] += t.shape[d]
	}
	out := newOutput(ts, shape...) // the copies write every element
	os := out.strides
	start := 0
	for _, t := range ts {
		copyStrided(out.data[start*os[d]:], os, t.data[t.offset:], t.strides, t.shape)
		start += t.shape[d]
	}
	return record(out, "Concat", func() {
		g := out.grad.data
		start := 0
		for _, t := range ts {
			if t.requiresGrad {
				addStrided(t.gradData(), contiguousStrides(t.shape), g[start*os[d]:], os, t.shape)
			}
			start += t.shape[d]
		}
	}, ts...)
}

// Stack joins tensors of equal shape along a new dimension inserted at dim
// (0 ≤ dim ≤ NDim; negative counts from the end of the result): n tensors
// (2,3) stacked at 0 give (n,2,3). It panics if ts is empty or the shapes
// differ.
func Stack(dim int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Stack: no tensors")
	}
	nd := ts[0].NDim() + 1
	if dim < 0 {
		dim += nd
	}
	if dim < 0 || dim >= nd {
		panic(fmt.Sprintf("tensor: Stack: dimension %d out of range for shape %s", dim, shapeString(ts[0].shape)))
	}
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !sameShape(t.shape, ts[0].shape) {
			panic(fmt.Sprintf("tensor: Stack: shapes %s and %s do not match", shapeString(ts[0].shape), shapeString(t.shape)))
		}
		us[i] = t.Unsqueeze(dim)
	}
	return Concat(dim, us...)
}

func sameShapeExcept(a, b []int, d int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if i != d && a[i] != b[i] {
			return false
		}
	}
	return true
}

// IndexSelect returns the slices of x at the given indices along dimension
// dim, in that order: x (A,B,C) with dim 1 and k indices gives (A,k,C).
// Indices may repeat; their gradients add up. It panics on an index out of
// range.
func IndexSelect(x *Tensor, dim int, idx []int) *Tensor {
	d := x.axis("IndexSelect", dim)
	sp := splitAt(x.shape, d)
	for _, j := range idx {
		if j < 0 || j >= sp.n {
			panic(fmt.Sprintf("tensor: IndexSelect: index %d out of range for dimension %d of %s", j, d, shapeString(x.shape)))
		}
	}
	idx = slices.Clone(idx) // the backward pass must see the indices of the forward
	xd := x.Detach().Contiguous().Data()
	shape := slices.Clone(x.shape)
	shape[d] = len(idx)
	out := Zeros(shape...)
	k, in := len(idx), sp.inner
	for o := range sp.outer {
		for r, j := range idx {
			copy(out.data[(o*k+r)*in:(o*k+r+1)*in], xd[sp.at(o, j, 0):])
		}
	}
	return record(out, "IndexSelect", func() {
		if !x.requiresGrad {
			return
		}
		gd, g := x.gradData(), out.grad.data
		for o := range sp.outer {
			for r, j := range idx {
				addTo(gd[sp.at(o, j, 0):sp.at(o, j, 0)+in], g[(o*k+r)*in:])
			}
		}
	}, x)
}

// Embedding returns the rows of weight (V,D) named by ids, a tensor of shape
// (idsShape…, D), like torch.nn.functional.embedding. ids is read in
// row-major order of idsShape, which defaults to (len(ids)). The gradient of
// a row used several times adds up. It panics on an id outside [0, V).
func Embedding(weight *Tensor, ids []int, idsShape ...int) *Tensor {
	if weight.NDim() != 2 {
		panic(fmt.Sprintf("tensor: Embedding: weight has shape %s, want (V,D)", shapeString(weight.shape)))
	}
	if len(idsShape) == 0 {
		idsShape = []int{len(ids)}
	}
	if n := checkShape("Embedding", idsShape); n != len(ids) {
		panic(fmt.Sprintf("tensor: Embedding: %d ids for shape %s", len(ids), shapeString(idsShape)))
	}
	for _, id := range ids {
		if id < 0 || id >= weight.shape[0] {
			panic(fmt.Sprintf("tensor: Embedding: id %d out of range for %d rows", id, weight.shape[0]))
		}
	}
	shape := append(slices.Clone(idsShape), weight.shape[1])
	return IndexSelect(weight, 0, ids).Reshape(shape...)
}

// Gather picks elements of x along dimension dim, like torch.gather: with
// an index tensor of shape indexShape (same number of dimensions as x, and
// no larger than x outside dim) given in row-major order as index, the
// result has shape indexShape and, for dim 1 of a 3-D x,
//
//	out[a][b][c] = x[a][index[a][b][c]][c].
//
// Gathering the label of each row of logp (N,C) is Gather(logp, 1, labels,
// N, 1). Indices may repeat; their gradients add up.
func Gather(x *Tensor, dim int, index []int, indexShape ...int) *Tensor {
	d := x.axis("Gather", dim)
	if n := checkShape("Gather", indexShape); n != len(index) {
		panic(fmt.Sprintf("tensor: Gather: %d indices for shape %s", len(index), shapeString(indexShape)))
	}
	if len(indexShape) != x.NDim() {
		panic(fmt.Sprintf("tensor: Gather: index shape %s and input %s differ in dimensions", shapeString(indexShape), shapeString(x.shape)))
	}
	for i, s := range indexShape {
		if i != d && s > x.shape[i] {
			panic(fmt.Sprintf("tensor: Gather: index shape %s is larger than input %s outside dimension %d", shapeString(indexShape), shapeString(x.shape), d))
		}
	}
	for _, j := range index {
		if j < 0 || j >= x.shape[d] {
			panic(fmt.Sprintf("tensor: Gather: index %d out of range for dimension %d of %s", j, d, shapeString(x.shape)))
		}
	}
	index = slices.Clone(index)
	out := Zeros(indexShape...)
	// Walk the index positions; the offset into x leaves out dimension d,
	// which the index value supplies.
	xs := slices.Clone(x.strides)
	xs[d] = 0
	xd, step := x.data[x.offset:], x.strides[d]
	walk(indexShape, [][]int{out.strides, xs}, func(offs []int, n int, inner []int) {
		for k := range n {
			p := offs[0] + k
			out.data[p] = xd[offs[1]+k*inner[1]+index[p]*step]
		}
	})
	return record(out, "Gather", func() {
		if !x.requiresGrad {
			return
		}
		gs := contiguousStrides(x.shape)
		gstep := gs[d]
		gs[d] = 0
		gd, g := x.gradData(), out.grad.data
		walk(indexShape, [][]int{out.strides, gs}, func(offs []int, n int, inner []int) {
			for k := range n {
				p := offs[0] + k
				gd[offs[1]+k*inner[1]+index[p]*gstep] += g[p]
			}
		})
	}, x)
}

// Where returns a where mask is true and b elsewhere. a and b broadcast to
// the shape of the result, and mask holds one flag per element of it in
// row-major order. Each gradient flows where its value was chosen.
func Where(mask []bool, a, b *Tensor) *Tensor {
	shape := broadcastShape("Where", a.shape, b.shape)
	if n := numel(shape); len(mask) != n {
		panic(fmt.Sprintf("tensor: Where: mask has %d elements for shape %s (need %d)", len(mask), shapeString(shape), n))
	}
	mask = slices.Clone(mask)
	out := Zeros(shape...)
	ad, bd := a.data[a.offset:], b.data[b.offset:]
	walk(shape, [][]int{out.strides, broadcastStrides(a, shape), broadcastStrides(b, shape)}, func(offs []int, n int, inner []int) {
		for k := range n {
			p := offs[0] + k
			if mask[p] {
				out.data[p] = ad[offs[1]+k*inner[1]]
			} else {
				out.data[p] = bd[offs[2]+k*inner[2]]
			}
		}
	})
	return record(out, "Where", func() {
		g := out.grad.data
		for _, side := range []struct {
			t    *Tensor
			pick bool
		}{{a, true}, {b, false}} {
			if !side.t.requiresGrad {
				continue
			}
			gs := make([]float32, len(g))
			for p, m := range mask {
				if m == side.pick {
					gs[p] = g[p]
				}
			}
			reduceGradTo(side.t, gs, shape, true)
		}
	}, a, b)
}

// MaskedFill returns x with the elements where mask is true replaced by
// value; mask holds one flag per element of x in row-major order. No
// gradient flows to the replaced elements. Attention masks use it with
// value -Inf.
func MaskedFill(x *Tensor, mask []bool, value float32) *Tensor {
	if n := x.Numel(); len(mask) != n {
		panic(fmt.Sprintf("tensor: MaskedFill: mask has %d elements for shape %s (need %d)", len(mask), shapeString(x.shape), n))
	}
	return Where(mask, Scalar(value), x)
}
