package tensor

import "github.com/vlpuda/vlpuda/kernels"

// rowLayout reads a tensor of a given shape as rows along one dimension:
// the rows are the 1-D slices along dim, laid out one after another in a
// contiguous buffer of shape (other dimensions…, n). When dim is the last
// dimension this is the tensor's own row-major order and nothing moves.
type rowLayout struct {
	last    bool  // dim is the last dimension
	n       int   // the length of a row: the size of dim
	perm    []int // shape[i] is dimension perm[i] of the original shape
	shape   []int // the shape with dim moved to the end
	contStr []int // the strides of a contiguous tensor of the original shape, permuted like shape
}

func newRowLayout(op string, x *Tensor, dim int) rowLayout {
	d := x.axis(op, dim)
	nd := len(x.shape)
	perm := make([]int, 0, nd)
	for i := range nd {
		if i != d {
			perm = append(perm, i)
		}
	}
	perm = append(perm, d)
	cs := contiguousStrides(x.shape)
	l := rowLayout{last: d == nd-1, n: x.shape[d], shape: make([]int, nd), contStr: make([]int, nd), perm: perm}
	for i, p := range perm {
		l.shape[i], l.contStr[i] = x.shape[p], cs[p]
	}
	return l
}

// rowsOf returns the rows of x. The result aliases x's storage when x is
// contiguous and dim is last, so callers must not write to it.
func (l rowLayout) rowsOf(x *Tensor) []float32 {
	if l.last && x.IsContiguous() {
		return x.Data()
	}
	strides := make([]int, len(l.shape))
	for i, p := range l.perm {
		strides[i] = x.strides[p]
	}
	rows := make([]float32, x.Numel())
	copyStrided(rows, contiguousStrides(l.shape), x.data[x.offset:], strides, l.shape)
	return rows
}

// rowsOfContiguous is rowsOf for a contiguous buffer of the original shape.
func (l rowLayout) rowsOfContiguous(buf []float32) []float32 {
	if l.last {
		return buf
	}
	rows := make([]float32, len(buf))
	copyStrided(rows, contiguousStrides(l.shape), buf, l.contStr, l.shape)
	return rows
}

// fromRows returns rows rearranged into a contiguous buffer of the original
// shape. It returns rows itself when dim is last.
func (l rowLayout) fromRows(rows []float32) []float32 {
	if l.last {
		return rows
	}
	buf := make([]float32, len(rows))
	copyStrided(buf, l.contStr, rows, contiguousStrides(l.shape), l.shape)
	return buf
}

// addRowsGrad adds rows, a buffer the caller made, into t's gradient, a
// contiguous buffer of the original shape; t keeps rows when it can (see
// takeGrad).
func (l rowLayout) addRowsGrad(t *Tensor, rows []float32) {
	if l.last {
		t.takeGrad(rows)
		return
	}
	addStrided(t.gradData(), l.contStr, rows, contiguousStrides(l.shape), l.shape)
}

// Softmax returns exp(x)/Σexp(x) along dimension dim of x (any shape, dim
// may be negative), as torch.softmax. Each slice is shifted by its maximum
// first, so large inputs do not overflow.
func Softmax(x *Tensor, dim int) *Tensor {
	l := newRowLayout("Softmax", x, dim)
	y := make([]float32, x.Numel())
	if len(y) > 0 {
		kernels.SoftmaxRows(y, l.rowsOf(x), l.n)
	}
	out := New(l.fromRows(y), x.shape...)
	return record(out, "Softmax", func() {
		if !x.requiresGrad {
			return
		}
		// dx = y ⊙ (g − Σ g·y) along each row.
		g := l.rowsOfContiguous(out.grad.data)
		dx := make([]float32, len(g))
		kernels.SoftmaxRowsBackward(dx, g, y, l.n)
		l.addRowsGrad(x, dx)
	}, x)
}

// LogSoftmax returns x − log Σexp(x) along dimension dim of x (any shape,
// dim may be negative), as torch.log_softmax. It is computed with the
// maximum subtracted first, so it is finite wherever x is.
func LogSoftmax(x *Tensor, dim int) *Tensor {
	l := newRowLayout("LogSoftmax", x, dim)
	y := make([]float32, x.Numel())
	if len(y) > 0 {
		kernels.LogSoftmaxRows(y, l.rowsOf(x), l.n)
	}
	out := New(l.fromRows(y), x.shape...)
	return record(out, "LogSoftmax", func() {
		if !x.requiresGrad {
			return
		}
		// dx = g − softmax(x)·Σg along each row, with softmax(x) = exp(y).
		g := l.rowsOfContiguous(out.grad.data)
		dx := make([]float32, len(g))
		kernels.LogSoftmaxRowsBackward(dx, g, y, l.n)
		l.addRowsGrad(x, dx)
	}, x)
}
