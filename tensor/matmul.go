package tensor

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/kernels"
)

// operand describes the matrices in the last two dimensions of a tensor as
// Sgemm reads them: a row-major rows×cols matrix, or with trans set the
// transpose of a row-major cols×rows one, so that transposed views need no copy.
type operand struct {
	data     []float32 // from the (0, …, 0) element
	trans    bool
	ld       int
	batchStr []int // strides over the batch dimensions (0 where broadcast)
}

// matrixOperand returns t's last two dimensions as an operand for a batch of
// the given shape. It copies t only when neither layout fits.
func matrixOperand(t *Tensor, batch []int) operand {
	nd := len(t.shape)
	rows, cols := t.shape[nd-2], t.shape[nd-1]
	rs, cs := t.strides[nd-2], t.strides[nd-1]
	bt := t.view(t.offset, t.shape[:nd-2], t.strides[:nd-2])
	switch {
	case (cs == 1 || cols == 1) && (rs >= cols || rows == 1):
		return operand{data: t.data[t.offset:], ld: max(rs, cols, 1), batchStr: broadcastStrides(bt, batch)}
	case (rs == 1 || rows == 1) && (cs >= rows || cols == 1):
		return operand{data: t.data[t.offset:], trans: true, ld: max(cs, rows, 1), batchStr: broadcastStrides(bt, batch)}
	}
	c := t.Detach().Contiguous()
	return matrixOperand(c, batch)
}

// transposed returns the operand read as its transpose.
func (o operand) transposed() operand { o.trans = !o.trans; return o }

// gemmBatched computes C_i = op(A_i)·op(B_i) + beta·C_i for every index i of
// the batch shape, where C is contiguous at the given batch strides. Small
// products run side by side, one per thread, since a single small GEMM
// cannot use every core; products that share their C (a stride of 0, when
// gradients of a broadcast operand are summed) run one after another.
func gemmBatched(c []float32, cStr []int, batch []int, m, n, k int, a, b operand, beta float32) {
	one := func(offs []int) {
		kernels.Sgemm(a.trans, b.trans, m, n, k, 1, a.data[offs[1]:], a.ld, b.data[offs[2]:], b.ld, beta, c[offs[0]:], n)
	}
	strides := [][]int{cStr, a.batchStr, b.batchStr}
	nb := numel(batch)
	if nb < 2 || m*n*k >= smallGEMM || slices.Contains(cStr, 0) {
		walkBatch(batch, strides, one)
		return
	}
	kernels.ParallelFor(nb, 1, func(lo, hi int) {
		offs := make([]int, len(strides))
		for i := lo; i < hi; i++ {
			batchOffsets(offs, i, batch, strides)
			one(offs)
		}
	})
}

// smallGEMM is the size m·n·k below which batched products are spread over
// threads one product each, rather than each product over all threads.
const smallGEMM = 256 * 256 * 256

// batchOffsets sets offs to each operand's offset for the i-th index of the
// batch shape in row-major order.
func batchOffsets(offs []int, i int, batch []int, strides [][]int) {
	clear(offs)
	for d := len(batch) - 1; d >= 0; d-- {
		idx := i % batch[d]
		i /= batch[d]
		for j, st := range strides {
			offs[j] += idx * st[d]
		}
	}
}

// walkBatch calls fn with each operand's offset for every index of shape.
func walkBatch(shape []int, strides [][]int, fn func(offs []int)) {
	walk(append(shape, 1), appendOne(strides), func(offs []int, _ int, _ []int) { fn(offs) })
}

func appendOne(strides [][]int) [][]int {
	out := make([][]int, len(strides))
	for i, s := range strides {
		out[i] = append(append([]int(nil), s...), 1)
	}
	return out
}

// batchGradStrides returns the strides over the batch dimensions into t's
// contiguous gradient buffer, 0 where t is broadcast.
func batchGradStrides(t *Tensor, batch []int) []int {
	nd := t.NDim()
	mat := t.shape[nd-2] * t.shape[nd-1]
	st := gradStrides(&Tensor{shape: t.shape[:nd-2]}, batch)
	for i := range st {
		st[i] *= mat
	}
	return st
}

// MatMul returns the matrix product of the last two dimensions of a (…, m, k)
// and b (…, k, n), broadcasting the leading (batch) dimensions. Transposed
// views are read in place.
func MatMul(a, b *Tensor) *Tensor {
	if a.NDim() < 2 || b.NDim() < 2 {
		panic(fmt.Sprintf("tensor: MatMul: shapes %s and %s need at least 2 dimensions", shapeString(a.shape), shapeString(b.shape)))
	}
	m, k := a.Dim(-2), a.Dim(-1)
	k2, n := b.Dim(-2), b.Dim(-1)
	if k != k2 {
		panic(fmt.Sprintf("tensor: MatMul: shapes %s and %s do not match", shapeString(a.shape), shapeString(b.shape)))
	}
	if b.NDim() == 2 && a.NDim() > 2 {
		// A shared weight: one GEMM over all rows is faster than a batch of
		// small ones, forward and backward.
		lead := a.shape[:a.NDim()-2]
		out := MatMul(a.Reshape(-1, k), b)
		return out.Reshape(append(append([]int(nil), lead...), m, n)...)
	}
	batch := broadcastShape("MatMul", a.shape[:a.NDim()-2], b.shape[:b.NDim()-2])
	shape := append(append([]int(nil), batch...), m, n)
	out := newOutput([]*Tensor{a, b}, shape...) // the GEMMs write every element (beta 0)
	cStr := contiguousStrides(shape)[:len(batch)]
	gemmBatched(out.data, cStr, batch, m, n, k, matrixOperand(a, batch), matrixOperand(b, batch), 0)
	return record(out, "MatMul", func() {
		g := matrixOperand(out.grad, batch)
		if a.requiresGrad {
			// dA = dC · Bᵀ, summed over batch dimensions along which a was broadcast.
			ga := a.gradData()
			gemmBatched(ga, batchGradStrides(a, batch), batch, m, k, n, g, matrixOperand(b.Detach(), batch).transposed(), 1)
		}
		if b.requiresGrad {
			// dB = Aᵀ · dC.
			gb := b.gradData()
			gemmBatched(gb, batchGradStrides(b, batch), batch, k, n, m, matrixOperand(a.Detach(), batch).transposed(), g, 1)
		}
	}, a, b)
}

// Linear returns x·wᵀ + bias for x (…, in), w (out, in) in PyTorch's layout
// and bias (out) or nil. It is one operation: the bias is added as the GEMM
// stores its result, and the backward pass makes three GEMM-shaped updates
// (dx = dy·w, dw = dyᵀ·x, db = column sums of dy) over all rows at once.
func Linear(x, w, bias *Tensor) *Tensor { return linear("Linear", x, w, nil, bias, false, nil) }

// LinearQuickGELU returns QuickGELU(Linear(x, w, bias)), the first half of
// a CLIP MLP, with the same values and gradients bit for bit. The
// activation is applied as the GEMM stores each block of the output, while
// it is in cache, instead of in a second pass over memory.
func LinearQuickGELU(x, w, bias *Tensor) *Tensor {
	return linear("LinearQuickGELU", x, w, nil, bias, true, nil)
}

// LinearAdd returns residual + Linear(x, w, bias), the end of a
// transformer's residual branch, with the same values and gradients bit for
// bit as Add(residual, Linear(x, w, bias)) (when residual is x itself, its
// two gradients are summed in another order). residual must have the shape
// of the product; it is added as the GEMM stores each block of the output,
// instead of in a second pass over memory into a second new tensor.
func LinearAdd(x, w, bias, residual *Tensor) *Tensor {
	if residual == nil {
		panic("tensor: LinearAdd: nil residual")
	}
	return linear("LinearAdd", x, w, nil, bias, false, residual)
}

// linear computes Linear plus add unless it is nil, followed by QuickGELU
// if gelu (the exported operations use one or the other). With packed set,
// the product reads the weight from there (w's storage may hold it) and
// records no graph.
func linear(op string, x, w *Tensor, packed *kernels.PackedB, bias *Tensor, gelu bool, add *Tensor) *Tensor {
	in := x.Dim(-1)
	if w.NDim() != 2 || w.shape[1] != in || (bias != nil && (bias.NDim() != 1 || bias.shape[0] != w.shape[0])) {
		bs := "nil"
		if bias != nil {
			bs = shapeString(bias.shape)
		}
		panic(fmt.Sprintf("tensor: %s: x %s, weight %s and bias %s do not match", op, shapeString(x.shape), shapeString(w.shape), bs))
	}
	out := w.shape[0]
	m := x.Numel() / max(in, 1)
	shape := append(append([]int(nil), x.shape[:x.NDim()-1]...), out)
	xd := x.Detach().Contiguous().Data()
	inputs := []*Tensor{x}
	var wd []float32
	if packed == nil {
		wd = w.Detach().Contiguous().Data()
		inputs = append(inputs, w)
	}
	var ep kernels.Epilogue
	if bias != nil {
		ep.Bias = bias.Detach().Contiguous().Data()
		inputs = append(inputs, bias)
	}
	if add != nil {
		if !sameShape(add.shape, shape) {
			panic(fmt.Sprintf("tensor: %s: residual has shape %s, want %s", op, shapeString(add.shape), shapeString(shape)))
		}
		ep.Add = add.Detach().Contiguous().Data()
		inputs = append(inputs, add)
	}
	y := newOutput(inputs, shape...) // the GEMM writes every element (beta 0)
	// pre holds x·wᵀ + bias (+ add): y itself, or with gelu and gradients to
	// come, the activation's input kept for its derivative.
	pre := y.data
	if gelu {
		ep.Act = kernels.ActQuickGELU
		if needsGrad(inputs) {
			pre = make([]float32, len(y.data))
			ep.Out = y.data
		}
	}
	if packed != nil {
		if needsGrad(inputs) {
			panic(fmt.Sprintf("tensor: %s: a packed weight has no gradient; pass an inference tensor (see Inference)", op))
		}
		kernels.SgemmPackedEpilogue(false, m, 1, xd, in, packed, 0, pre, out, ep)
		return record(y, op, nil, inputs...)
	}
	kernels.SgemmEpilogue(false, true, m, out, in, 1, xd, in, wd, in, 0, pre, out, ep)
	return record(y, op, func() {
		g := y.grad.data
		if gelu {
			// The gradient of y is consumed here, so it becomes that of pre.
			kernels.QuickGELUBackward(g, g, pre)
		}
		if x.requiresGrad {
			kernels.Sgemm(false, false, m, in, out, 1, g, out, wd, in, 1, x.gradData(), in)
		}
		if w.requiresGrad {
			kernels.Sgemm(true, false, out, in, m, 1, g, out, xd, in, 1, w.gradData(), in)
		}
		if bias != nil && bias.requiresGrad {
			kernels.AddColumnSums(bias.gradData(), g)
		}
		// Last, since the residual may take over g (y's gradient is
		// released after this closure).
		if add != nil && add.requiresGrad {
			add.takeGrad(g)
		}
	}, inputs...)
}
