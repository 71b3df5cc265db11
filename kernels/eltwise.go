package kernels

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/internal/detmath"
)

// This file defines the elementwise and row-wise kernels. Each exported
// function checks its arguments, splits large inputs across the worker pool
// and calls the primitives of the current ISA (eltwiseImpl). The row-wise
// kernels (softmax, layer norm) are written here once, in terms of those
// primitives; only the primitives have assembly forms.
//
// Unless a doc comment says otherwise, dst may be the same slice as an input
// (the kernels read each element before writing it), but must not partially
// overlap one.

// eltwiseImpl is one implementation of the elementwise primitives. Every
// slice argument is at least as long as the one that sets the length (the
// first, or x where the generated code says so); the exported kernels make
// all of them equal.
type eltwiseImpl struct {
	axpy              func(alpha float32, x, y []float32)
	addRows           func(dst []float32, ldd int, x []float32, ldx, rows, n int) // n elements of each row
	scale             func(dst []float32, alpha float32, x []float32)
	addConst          func(dst []float32, c float32, x []float32)
	affine            func(dst []float32, alpha float32, x []float32, beta float32)
	affineReLU        func(dst []float32, alpha float32, x []float32, beta float32)              // affine, then relu
	affineAddReLU     func(dst []float32, alpha float32, x []float32, beta float32, y []float32) // affine, add y, relu
	add, sub, mul     func(dst, x, y []float32)
	sgdMomentum       func(w, grad, buf []float32, lr, wd, mom, damp float32)
	sgdNesterov       func(w, grad, buf []float32, lr, wd, mom, damp float32)
	relu              func(dst, x []float32)
	reluBackward      func(dst, dy, x []float32)
	sum               func(x []float32) float32
	dot               func(x, y []float32) float32
	max               func(x []float32) float32 // NaN may or may not propagate
	sumSqDev          func(x []float32, m float32) float32
	exp, sigmoid      func(dst, x []float32)
	quickGELU, gelu   func(dst, x []float32)
	quickGELUBackward func(dst, dy, x []float32)
	geluBackward      func(dst, dy, x []float32)
	expSubSum         func(dst, x []float32, m float32) float32
	sumExpSub         func(x []float32, m float32) float32
	subConstMul       func(dst, x []float32, c float32, y []float32)
	subExpScaled      func(dst, dy, y []float32, s float32)
	normAffine        func(dst, x, gamma, beta []float32, m, rs float32)
	normBackwardSums  func(dgamma, dbeta, dy, x, gamma []float32, m, rs float32) (sg, sgx float32)
	normBackwardDx    func(dx, dy, x, gamma []float32, m, rs, mg, mgx float32)
	bnBackwardDx      func(dx, g, x []float32, s, mg, mu, rs, mgx float32)
	// halfToFloat32 converts whole vectors only on AVX2 and AVX-512; the
	// caller gives it a multiple of 16 elements (see HalfToFloat32).
	halfToFloat32 func(dst []float32, src []byte)
}

// eltwiseImpls holds the primitives of each ISA; where the build has no
// assembly, every entry is eltwiseGeneric. NEON has only the SGEMM kernels:
// its elementwise primitives are the pure-Go ones.
var eltwiseImpls = [numISA]*eltwiseImpl{
	Generic: &eltwiseGeneric,
	AVX2:    &eltwiseAVX2,
	AVX512:  &eltwiseAVX512,
	NEON:    &eltwiseGeneric,
}

func elt() *eltwiseImpl { return eltwiseImpls[current] }

// Work sizes, in elements, below which a kernel stays on the calling
// goroutine: a chunk must outweigh the few microseconds of a hand-off.
const (
	grainArith = 1 << 16 // loads and stores only
	grainMath  = 1 << 13 // exp and friends, about 1 ns per element
)

func checkLen(op string, n int, xs ...[]float32) {
	for _, x := range xs {
		if len(x) != n {
			panic(fmt.Sprintf("kernels: %s: slice lengths do not match (%d vs %d)", op, len(x), n))
		}
	}
}

func checkRows(op string, n, cols int) {
	if cols <= 0 || n%cols != 0 {
		panic(fmt.Sprintf("kernels: %s: length %d is not a multiple of cols=%d", op, n, cols))
	}
}

// parallelMap runs fn on chunks of [0, n). fn must treat elements
// independently, so the result does not depend on the split.
func parallelMap(n, grain int, fn func(lo, hi int)) {
	if small(n, grain) {
		fn(0, n)
		return
	}
	ParallelFor(n, grain, fn)
}

// small reports whether n elements stay on the calling goroutine in one
// chunk. The kernels check it before they build the closure they would
// hand to parallelMap: the closure escapes to the worker pool, so building
// it allocates, which cost more than the work on small slices (a batch
// norm over 4×4 maps calls Affine once per image and channel).
func small(n, grain int) bool { return n < 2*grain }

// Axpy computes y += alpha*x.
func Axpy(alpha float32, x, y []float32) {
	checkLen("Axpy", len(y), x)
	axpy := elt().axpy
	if small(len(x), grainArith) {
		axpy(alpha, x, y)
		return
	}
	parallelMap(len(x), grainArith, func(lo, hi int) { axpy(alpha, x[lo:hi], y[lo:hi]) })
}

// Scale computes dst = alpha*x.
func Scale(dst []float32, alpha float32, x []float32) {
	checkLen("Scale", len(dst), x)
	scale := elt().scale
	if small(len(x), grainArith) {
		scale(dst, alpha, x)
		return
	}
	parallelMap(len(x), grainArith, func(lo, hi int) { scale(dst[lo:hi], alpha, x[lo:hi]) })
}

// AddConst computes dst = x + c.
func AddConst(dst []float32, c float32, x []float32) {
	checkLen("AddConst", len(dst), x)
	addConst := elt().addConst
	if small(len(x), grainArith) {
		addConst(dst, c, x)
		return
	}
	parallelMap(len(x), grainArith, func(lo, hi int) { addConst(dst[lo:hi], c, x[lo:hi]) })
}

// Affine computes dst = alpha*x + beta, the per-channel map of an
// evaluated batch norm. The assembly forms use one fused multiply-add.
func Affine(dst []float32, alpha float32, x []float32, beta float32) {
	checkLen("Affine", len(dst), x)
	affine := elt().affine
	if small(len(x), grainArith) {
		affine(dst, alpha, x, beta)
		return
	}
	parallelMap(len(x), grainArith, func(lo, hi int) { affine(dst[lo:hi], alpha, x[lo:hi], beta) })
}

// AffineReLU computes dst = max(alpha*x + beta, 0): Affine then ReLU, in
// one pass over memory, with the same results.
func AffineReLU(dst []float32, alpha float32, x []float32, beta float32) {
	checkLen("AffineReLU", len(dst), x)
	f := elt().affineReLU
	if small(len(x), grainArith) {
		f(dst, alpha, x, beta)
		return
	}
	parallelMap(len(x), grainArith, func(lo, hi int) { f(dst[lo:hi], alpha, x[lo:hi], beta) })
}

// AddReLU computes dst = max(x + y, 0): Add then ReLU, in one pass over
// memory, with the same results.
func AddReLU(dst, x, y []float32) {
	checkLen("AddReLU", len(dst), x, y)
	k := elt()
	if small(len(dst), grainArith) {
		k.add(dst, x, y)
		k.relu(dst, dst)
		return
	}
	parallelMap(len(dst), grainArith, func(lo, hi int) {
		k.add(dst[lo:hi], x[lo:hi], y[lo:hi])
		k.relu(dst[lo:hi], dst[lo:hi])
	})
}

// SGDMomentum applies one step of SGD with momentum to w in place,
// PyTorch's rule for every step after the first, with d the decayed
// gradient and buf the momentum buffer:
//
//	d = grad + wd·w
//	buf = mom·buf + damp·d        (damp is 1 − dampening)
//	d = d + mom·buf if nesterov, else buf
//	w = w − lr·d
//
// Every product and sum is rounded to float32 on its own (no fused
// multiply-adds), on every ISA, so the path in force does not change a
// training run's numbers.
func SGDMomentum(w, grad, buf []float32, lr, wd, mom, damp float32, nesterov bool) {
	checkLen("SGDMomentum", len(w), grad, buf)
	f := elt().sgdMomentum
	if nesterov {
		f = elt().sgdNesterov
	}
	if small(len(w), grainArith) {
		f(w, grad, buf, lr, wd, mom, damp)
		return
	}
	parallelMap(len(w), grainArith, func(lo, hi int) { f(w[lo:hi], grad[lo:hi], buf[lo:hi], lr, wd, mom, damp) })
}

// BatchNormBackwardDx adds the data gradient of a batch norm in training
// over one block of a channel to dx:
//
//	dx[i] += s * (g[i] - mg - (x[i]-mu)*rs*mgx)
//
// with g the output gradient, mu and rs the channel's mean and reciprocal
// standard deviation, mg and mgx the means of g and of g·x̂ over the
// channel, and s = rs·gamma. Every operation is rounded on its own, as Go
// computes the line above.
func BatchNormBackwardDx(dx, g, x []float32, s, mg, mu, rs, mgx float32) {
	checkLen("BatchNormBackwardDx", len(dx), g, x)
	f := elt().bnBackwardDx
	if small(len(dx), grainArith) {
		f(dx, g, x, s, mg, mu, rs, mgx)
		return
	}
	parallelMap(len(dx), grainArith, func(lo, hi int) { f(dx[lo:hi], g[lo:hi], x[lo:hi], s, mg, mu, rs, mgx) })
}

// binaryOp runs a dst = f(x, y) primitive over chunks.
func binaryOp(f func(dst, x, y []float32), dst, x, y []float32, grain int) {
	if small(len(dst), grain) {
		f(dst, x, y)
		return
	}
	parallelMap(len(dst), grain, func(lo, hi int) { f(dst[lo:hi], x[lo:hi], y[lo:hi]) })
}

// unaryOp runs a dst = f(x) primitive over chunks.
func unaryOp(f func(dst, x []float32), dst, x []float32, grain int) {
	if small(len(dst), grain) {
		f(dst, x)
		return
	}
	parallelMap(len(dst), grain, func(lo, hi int) { f(dst[lo:hi], x[lo:hi]) })
}

// Add computes dst = x + y.
func Add(dst, x, y []float32) {
	checkLen("Add", len(dst), x, y)
	binaryOp(elt().add, dst, x, y, grainArith)
}

// Sub computes dst = x - y.
func Sub(dst, x, y []float32) {
	checkLen("Sub", len(dst), x, y)
	binaryOp(elt().sub, dst, x, y, grainArith)
}

// Mul computes dst = x * y elementwise.
func Mul(dst, x, y []float32) {
	checkLen("Mul", len(dst), x, y)
	binaryOp(elt().mul, dst, x, y, grainArith)
}

// Sum returns the sum of x, accumulated in float64 for accuracy.
func Sum(x []float32) float32 {
	return elt().sum(x)
}

// Dot returns the dot product of x and y, accumulated in float64.
func Dot(x, y []float32) float32 {
	checkLen("Dot", len(x), y)
	return elt().dot(x, y)
}

// Exp computes dst = exp(x). The assembly forms are within 1 ulp of the
// correctly rounded result (measured over the float32 range), give 0 for
// x < -103.98 (through the subnormals), +Inf above 88.72 and NaN for NaN.
func Exp(dst, x []float32) {
	checkLen("Exp", len(dst), x)
	unaryOp(elt().exp, dst, x, grainMath)
}

// ReLU computes dst = max(x, 0); NaN stays NaN.
func ReLU(dst, x []float32) {
	checkLen("ReLU", len(dst), x)
	unaryOp(elt().relu, dst, x, grainArith)
}

// ReLUBackward computes dx = dy where x > 0 and 0 elsewhere.
func ReLUBackward(dx, dy, x []float32) {
	checkLen("ReLUBackward", len(dx), dy, x)
	binaryOp(elt().reluBackward, dx, dy, x, grainArith)
}

// Sigmoid computes dst = 1/(1+exp(-x)).
func Sigmoid(dst, x []float32) {
	checkLen("Sigmoid", len(dst), x)
	unaryOp(elt().sigmoid, dst, x, grainMath)
}

// SigmoidBackward computes dx = dy * y * (1-y) from the output y of Sigmoid.
func SigmoidBackward(dx, dy, y []float32) {
	checkLen("SigmoidBackward", len(dx), dy, y)
	for i, v := range y {
		dx[i] = dy[i] * v * (1 - v)
	}
}

// Tanh computes dst = tanh(x).
func Tanh(dst, x []float32) {
	checkLen("Tanh", len(dst), x)
	for i, v := range x {
		dst[i] = float32(detmath.Tanh(float64(v)))
	}
}

// TanhBackward computes dx = dy * (1 - y²) from the output y of Tanh.
func TanhBackward(dx, dy, y []float32) {
	checkLen("TanhBackward", len(dx), dy, y)
	for i, v := range y {
		dx[i] = dy[i] * (1 - float32(v*v))
	}
}

// QuickGELU computes dst = x*sigmoid(1.702x), CLIP's activation.
func QuickGELU(dst, x []float32) {
	checkLen("QuickGELU", len(dst), x)
	unaryOp(elt().quickGELU, dst, x, grainMath)
}

// QuickGELUBackward computes dx = dy * d/dx[x*sigmoid(1.702x)].
func QuickGELUBackward(dx, dy, x []float32) {
	checkLen("QuickGELUBackward", len(dx), dy, x)
	binaryOp(elt().quickGELUBackward, dx, dy, x, grainMath)
}

// GELU computes dst = x*Φ(x) with the exact erf form (PyTorch's default).
// The assembly forms evaluate Φ from a fitted erfc that keeps its relative
// accuracy in both tails: dst is within 1.2e-6 relative of the exact value
// wherever that is a normal float32.
func GELU(dst, x []float32) {
	checkLen("GELU", len(dst), x)
	unaryOp(elt().gelu, dst, x, grainMath)
}

// GELUBackward computes dx = dy * d/dx[x*Φ(x)] = dy * (Φ(x) + x·φ(x)). The
// assembly forms are within 1.5e-7·|dy| of the exact value.
func GELUBackward(dx, dy, x []float32) {
	checkLen("GELUBackward", len(dx), dy, x)
	binaryOp(elt().geluBackward, dx, dy, x, grainMath)
}

// AddBias adds bias to every row of x: dst[r*n+j] = x[r*n+j] + bias[j] with
// n = len(bias).
func AddBias(dst, x, bias []float32) {
	checkLen("AddBias", len(dst), x)
	checkRows("AddBias", len(x), len(bias))
	n := len(bias)
	add := elt().add
	rowsParallel(len(x)/n, n, grainArith, func(r int) {
		add(dst[r*n:(r+1)*n], x[r*n:(r+1)*n], bias)
	})
}

// addRows adds rows rows of n elements of x, row stride ldx, into dst, row
// stride ldd ≥ n: dst[i*ldd+j] += x[i*ldx+j]. Each element gets one
// rounded sum, as Axpy with alpha 1 gives.
func addRows(dst []float32, ldd int, x []float32, ldx, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	if ldd < n {
		panic(fmt.Sprintf("kernels: addRows: ldd=%d < n=%d", ldd, n))
	}
	_ = dst[(rows-1)*ldd+n-1]
	_ = x[(rows-1)*ldx+n-1]
	elt().addRows(dst, ldd, x, ldx, rows, n)
}

// AddColumnSums adds the sum of the rows of x to dst (the bias gradient):
// dst[j] += Σ_r x[r*n+j] with n = len(dst). Rows are added in order.
func AddColumnSums(dst, x []float32) {
	checkRows("AddColumnSums", len(x), len(dst))
	n := len(dst)
	axpy := elt().axpy
	for r := 0; r < len(x); r += n {
		axpy(1, x[r:r+n], dst)
	}
}

// rowsParallel calls fn for every row in [0, rows), splitting the rows
// across threads when rows*cols is large. Rows must be independent.
func rowsParallel(rows, cols, grain int, fn func(r int)) {
	parallelMap(rows, max(1, grain/cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r)
		}
	})
}

// SoftmaxRows computes dst = softmax(x) over each row of cols elements.
// dst may be x. A row holding NaN or +Inf gives a NaN row, as in PyTorch.
func SoftmaxRows(dst, x []float32, cols int) {
	checkLen("SoftmaxRows", len(dst), x)
	checkRows("SoftmaxRows", len(x), cols)
	k := elt()
	rowsParallel(len(x)/cols, cols, grainMath, func(r int) {
		xr, dr := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		m := k.max(xr)
		s := k.expSubSum(dr, xr, m)
		k.scale(dr, 1/s, dr)
	})
}

// SoftmaxRowsBackward computes the gradient of SoftmaxRows from its output
// y: dx = y * (dy - Σ dy·y), row by row. dx may be dy or y.
func SoftmaxRowsBackward(dx, dy, y []float32, cols int) {
	checkLen("SoftmaxRowsBackward", len(dx), dy, y)
	checkRows("SoftmaxRowsBackward", len(y), cols)
	k := elt()
	rowsParallel(len(y)/cols, cols, grainArith, func(r int) {
		lo, hi := r*cols, (r+1)*cols
		c := k.dot(dy[lo:hi], y[lo:hi])
		k.subConstMul(dx[lo:hi], dy[lo:hi], c, y[lo:hi])
	})
}

// LogSoftmaxRows computes dst = log(softmax(x)) over each row of cols elements.
// dst may be x.
func LogSoftmaxRows(dst, x []float32, cols int) {
	checkLen("LogSoftmaxRows", len(dst), x)
	checkRows("LogSoftmaxRows", len(x), cols)
	k := elt()
	rowsParallel(len(x)/cols, cols, grainMath, func(r int) {
		xr, dr := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		m := k.max(xr)
		lse := m + float32(detmath.Log(float64(k.sumExpSub(xr, m))))
		k.addConst(dr, -lse, xr)
	})
}

// LogSoftmaxRowsBackward computes the gradient of LogSoftmaxRows from its
// output y: dx = dy - exp(y) * Σ dy, row by row. dx may be dy or y.
func LogSoftmaxRowsBackward(dx, dy, y []float32, cols int) {
	checkLen("LogSoftmaxRowsBackward", len(dx), dy, y)
	checkRows("LogSoftmaxRowsBackward", len(y), cols)
	k := elt()
	rowsParallel(len(y)/cols, cols, grainMath, func(r int) {
		lo, hi := r*cols, (r+1)*cols
		s := k.sum(dy[lo:hi])
		k.subExpScaled(dx[lo:hi], dy[lo:hi], y[lo:hi], s)
	})
}

// onesIfNil returns gamma, or n ones when gamma is nil.
func onesIfNil(gamma []float32, n int) []float32 {
	if gamma != nil {
		return gamma
	}
	g := make([]float32, n)
	for i := range g {
		g[i] = 1
	}
	return g
}

// LayerNormRows normalises each row of cols elements of x:
// dst = (x-mean)*rstd*gamma + beta, and stores each row's mean and
// rstd = 1/sqrt(var+eps) (biased variance) for the backward pass.
// gamma and beta may be nil (no affine transform). dst may be x.
//
// The mean is accumulated in float64; the variance is the float32 sum of
// squared deviations from the float32 mean (in vector lanes on the assembly
// paths), whose relative error is a few times 1e-7 for rows of thousands.
func LayerNormRows(dst, mean, rstd, x, gamma, beta []float32, cols int, eps float32) {
	checkLen("LayerNormRows", len(dst), x)
	checkRows("LayerNormRows", len(x), cols)
	rows := len(x) / cols
	checkLen("LayerNormRows", rows, mean, rstd)
	if gamma != nil {
		checkLen("LayerNormRows", cols, gamma)
	}
	if beta != nil {
		checkLen("LayerNormRows", cols, beta)
	}
	gamma = onesIfNil(gamma, cols)
	if beta == nil {
		beta = make([]float32, cols)
	}
	k := elt()
	rowsParallel(rows, cols, grainArith/4, func(r int) {
		xr, dr := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		m := k.sum(xr) / float32(cols)
		v := k.sumSqDev(xr, m) / float32(cols)
		rs := float32(1 / math.Sqrt(float64(v)+float64(eps)))
		mean[r], rstd[r] = m, rs
		k.normAffine(dr, xr, gamma, beta, m, rs)
	})
}

// normBlocks is the most blocks of rows LayerNormRowsBackward splits the
// rows into: enough for the threads of a large machine, few enough that
// their partial sums cost little.
const normBlocks = 16

// LayerNormRowsBackward computes the gradient of LayerNormRows. It writes dx
// and adds into dgamma and dbeta (either may be nil). mean and rstd are the
// values LayerNormRows stored; gamma may be nil. dx may be dy.
//
// Rows are split into at most normBlocks blocks, as many as the size asks
// for whatever the thread count, each summing its own dgamma and dbeta,
// added in block order: the result depends on the shape alone.
func LayerNormRowsBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, cols int) {
	checkLen("LayerNormRowsBackward", len(dx), dy, x)
	checkRows("LayerNormRowsBackward", len(x), cols)
	rows := len(x) / cols
	checkLen("LayerNormRowsBackward", rows, mean, rstd)
	for _, s := range [][]float32{dgamma, dbeta, gamma} {
		if s != nil {
			checkLen("LayerNormRowsBackward", cols, s)
		}
	}
	gamma = onesIfNil(gamma, cols)
	blocks := clamp(rows*cols/grainArith, 1, normBlocks)
	// Block 0 adds into dgamma and dbeta directly; the others into
	// zeroed partials.
	partial := make([]float32, 2*cols*blocks)
	if dgamma == nil {
		dgamma = partial[:cols]
	}
	if dbeta == nil {
		dbeta = partial[cols : 2*cols]
	}
	k := elt()
	ParallelFor(blocks, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			dg, db := dgamma, dbeta
			if b > 0 {
				dg, db = partial[2*b*cols:(2*b+1)*cols], partial[(2*b+1)*cols:(2*b+2)*cols]
			}
			for r := b * rows / blocks; r < (b+1)*rows/blocks; r++ {
				lo, hi := r*cols, (r+1)*cols
				m, rs := mean[r], rstd[r]
				// With xhat = (x-m)*rs and g = dy*gamma:
				// dx = rs * (g - mean(g) - xhat*mean(g*xhat)).
				sg, sgx := k.normBackwardSums(dg, db, dy[lo:hi], x[lo:hi], gamma, m, rs)
				k.normBackwardDx(dx[lo:hi], dy[lo:hi], x[lo:hi], gamma, m, rs, sg/float32(cols), sgx/float32(cols))
			}
		}
	})
	for b := 1; b < blocks; b++ {
		k.add(dgamma, dgamma, partial[2*b*cols:(2*b+1)*cols])
		k.add(dbeta, dbeta, partial[(2*b+1)*cols:(2*b+2)*cols])
	}
}
