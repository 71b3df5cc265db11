package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
)

// Sum returns the sum of all elements of t as a scalar.
func Sum(t *Tensor) *Tensor {
	c := t.Detach().Contiguous()
	out := Scalar(kernels.Sum(c.Data()))
	return record(out, "Sum", func() {
		if t.requiresGrad {
			g := out.grad.data[0]
			gd := t.gradData()
			for i := range gd {
				gd[i] += g
			}
		}
	}, t)
}

// Mean returns the mean of all elements of t as a scalar.
func Mean(t *Tensor) *Tensor {
	n := t.Numel()
	c := t.Detach().Contiguous()
	out := Scalar(kernels.Sum(c.Data()) / float32(n))
	return record(out, "Mean", func() {
		if t.requiresGrad {
			g := out.grad.data[0] / float32(n)
			gd := t.gradData()
			for i := range gd {
				gd[i] += g
			}
		}
	}, t)
}

// SumDim returns the sums of x over dimension dim (negative counts from the
// end). The dimension is kept with size 1 when keepdim is set and removed
// otherwise: x (A,B,C) with dim 1 gives (A,1,C) or (A,C).
func SumDim(x *Tensor, dim int, keepdim bool) *Tensor {
	return sumDims("SumDim", x, []int{dim}, keepdim)
}

// SumDims returns the sums of x over the given dimensions, each kept with
// size 1 when keepdim is set and removed otherwise. The sums are accumulated
// in float64. It panics if dims is empty or repeats a dimension.
func SumDims(x *Tensor, dims []int, keepdim bool) *Tensor {
	return sumDims("SumDims", x, dims, keepdim)
}

func sumDims(op string, x *Tensor, dims []int, keepdim bool) *Tensor {
	red := x.reduceAxes(op, dims)
	out := New(sumOver(x, red), reducedShape(x.shape, red, keepdim)...)
	return record(out, op, func() {
		if x.requiresGrad {
			addStrided(x.gradData(), contiguousStrides(x.shape), out.grad.data, keptStrides(x.shape, red), x.shape)
		}
	}, x)
}

// MeanDim returns the means of x over dimension dim, kept with size 1 when
// keepdim is set. The mean over an empty dimension is NaN.
func MeanDim(x *Tensor, dim int, keepdim bool) *Tensor {
	return meanDims("MeanDim", x, []int{dim}, keepdim)
}

// MeanDims returns the means of x over the given dimensions, each kept with
// size 1 when keepdim is set; x (B,C,H,W) with dims {2,3} gives (B,C).
func MeanDims(x *Tensor, dims []int, keepdim bool) *Tensor {
	return meanDims("MeanDims", x, dims, keepdim)
}

func meanDims(op string, x *Tensor, dims []int, keepdim bool) *Tensor {
	red := x.reduceAxes(op, dims)
	n := 1
	for d, r := range red {
		if r {
			n *= x.shape[d]
		}
	}
	inv := 1 / float32(n)
	sums := sumOver(x, red)
	kernels.Scale(sums, inv, sums)
	out := New(sums, reducedShape(x.shape, red, keepdim)...)
	return record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		g := make([]float32, len(out.grad.data))
		kernels.Scale(g, inv, out.grad.data)
		addStrided(x.gradData(), contiguousStrides(x.shape), g, keptStrides(x.shape, red), x.shape)
	}, x)
}

// MaxDim returns the largest elements of x along dimension dim, kept with
// size 1 when keepdim is set, and the index along dim of each (the first on
// ties, a NaN if any), in row-major order of the result. The gradient flows
// to those positions only. It panics if the dimension is empty.
func MaxDim(x *Tensor, dim int, keepdim bool) (*Tensor, []int) {
	return extremum("MaxDim", x, dim, keepdim, greaterNaN)
}

// MinDim returns the smallest elements of x along dimension dim and their
// indices, like MaxDim.
func MinDim(x *Tensor, dim int, keepdim bool) (*Tensor, []int) {
	return extremum("MinDim", x, dim, keepdim, lessNaN)
}

// Argmax returns the index of the largest element along dimension dim (the
// first on ties) for every position of the other dimensions, in row-major
// order: x (N,C) with dim -1 gives N class indices. No gradient is recorded.
func Argmax(x *Tensor, dim int) []int {
	d := x.axis("Argmax", dim)
	_, idx := argExtremum("Argmax", x, d, greaterNaN)
	return idx
}

// greaterNaN orders NaN above every number so that it propagates through Max.
func greaterNaN(v, best float32) bool { return v > best || (v != v && best == best) }

// lessNaN orders NaN below every number so that it propagates through Min.
func lessNaN(v, best float32) bool { return v < best || (v != v && best == best) }

func extremum(op string, x *Tensor, dim int, keepdim bool, better func(v, best float32) bool) (*Tensor, []int) {
	d := x.axis(op, dim)
	vals, idx := argExtremum(op, x, d, better)
	red := make([]bool, x.NDim())
	red[d] = true
	out := New(vals, reducedShape(x.shape, red, keepdim)...)
	sp := splitAt(x.shape, d)
	out = record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		gd, g := x.gradData(), out.grad.data
		for r, j := range idx {
			gd[sp.at(r/sp.inner, j, r%sp.inner)] += g[r]
		}
	}, x)
	return out, slices.Clone(idx)
}

// argExtremum returns the best element along dimension d by better, and its
// index, for each position of the other dimensions.
func argExtremum(op string, x *Tensor, d int, better func(v, best float32) bool) ([]float32, []int) {
	if x.shape[d] == 0 {
		panic(fmt.Sprintf("tensor: %s: dimension %d of %s is empty", op, d, shapeString(x.shape)))
	}
	xd := x.Detach().Contiguous().Data()
	sp := splitAt(x.shape, d)
	vals := make([]float32, sp.outer*sp.inner)
	idx := make([]int, len(vals))
	for o := range sp.outer {
		for i := range sp.inner {
			best, bj := xd[sp.at(o, 0, i)], 0
			for j := 1; j < sp.n; j++ {
				if v := xd[sp.at(o, j, i)]; better(v, best) {
					best, bj = v, j
				}
			}
			r := o*sp.inner + i
			vals[r], idx[r] = best, bj
		}
	}
	return vals, idx
}

// LogSumExp returns log Σⱼ exp(xⱼ) along dimension dim, kept with size 1
// when keepdim is set, computed stably by factoring out the maximum. Its
// gradient is the softmax of x along dim. An empty dimension gives -Inf.
func LogSumExp(x *Tensor, dim int, keepdim bool) *Tensor {
	d := x.axis("LogSumExp", dim)
	xd := x.Detach().Contiguous().Data()
	sp := splitAt(x.shape, d)
	red := make([]bool, x.NDim())
	red[d] = true
	out := Zeros(reducedShape(x.shape, red, keepdim)...)
	row := make([]float32, sp.n)
	for o := range sp.outer {
		for i := range sp.inner {
			sp.gather(row, xd, o, i)
			m := float32(math.Inf(-1))
			for _, v := range row {
				m = max(m, v) // NaN propagates
			}
			r := o*sp.inner + i
			if math.IsInf(float64(m), 0) || m != m {
				// All -Inf (or empty), a +Inf, or a NaN: the result is m,
				// and x - m would turn the infinities into NaN.
				out.data[r] = m
				continue
			}
			for j := range row {
				row[j] -= m
			}
			kernels.Exp(row, row)
			out.data[r] = m + float32(detmath.Log(float64(kernels.Sum(row))))
		}
	}
	return record(out, "LogSumExp", func() {
		if !x.requiresGrad {
			return
		}
		// d/dxⱼ = exp(xⱼ - out).
		gd, g := x.gradData(), out.grad.data
		for o := range sp.outer {
			for i := range sp.inner {
				r := o*sp.inner + i
				sp.gather(row, xd, o, i)
				for j := range row {
					row[j] -= out.data[r]
				}
				kernels.Exp(row, row)
				sp.scatterAdd(gd, g[r], row, o, i)
			}
		}
	}, x)
}

// Var returns the variance of x along dimension dim, Σ(xⱼ - mean)²/(n -
// correction), kept with size 1 when keepdim is set. Correction 0 gives the
// population variance and 1 the unbiased sample variance (PyTorch's
// default). The result is NaN where n ≤ correction. It panics if correction
// is negative.
func Var(x *Tensor, dim int, keepdim bool, correction int) *Tensor {
	d := x.axis("Var", dim)
	if correction < 0 {
		panic(fmt.Sprintf("tensor: Var: negative correction %d", correction))
	}
	xd := x.Detach().Contiguous().Data()
	sp := splitAt(x.shape, d)
	red := make([]bool, x.NDim())
	red[d] = true
	out := Zeros(reducedShape(x.shape, red, keepdim)...)
	mean := make([]float32, len(out.data))
	denom := float64(max(sp.n-correction, 0)) // 0 makes 0/0 = NaN
	for o := range sp.outer {
		for i := range sp.inner {
			var s float64
			for j := range sp.n {
				s += float64(xd[sp.at(o, j, i)])
			}
			mu := s / float64(sp.n)
			var ss float64
			for j := range sp.n {
				dv := float64(xd[sp.at(o, j, i)]) - mu
				ss += float64(dv * dv)
			}
			r := o*sp.inner + i
			mean[r], out.data[r] = float32(mu), float32(ss/denom)
		}
	}
	return record(out, "Var", func() {
		if !x.requiresGrad {
			return
		}
		// d/dxⱼ = 2(xⱼ - mean)/(n - correction); the mean's own dependence
		// on xⱼ drops out because the deviations sum to zero.
		gd, g := x.gradData(), out.grad.data
		for o := range sp.outer {
			for i := range sp.inner {
				r := o*sp.inner + i
				c := float32(2 / denom * float64(g[r]))
				for j := range sp.n {
					k := sp.at(o, j, i)
					gd[k] += float32(c * (xd[k] - mean[r]))
				}
			}
		}
	}, x)
}

// reduceAxes returns a mask of the dimensions of t named by dims, which may
// be negative. It panics on an empty list or a repeated dimension.
func (t *Tensor) reduceAxes(op string, dims []int) []bool {
	if len(dims) == 0 {
		panic(fmt.Sprintf("tensor: %s: no dimensions to reduce (use Sum for all)", op))
	}
	red := make([]bool, t.NDim())
	for _, d := range dims {
		a := t.axis(op, d)
		if red[a] {
			panic(fmt.Sprintf("tensor: %s: dimension %d repeated in %v", op, a, dims))
		}
		red[a] = true
	}
	return red
}

// reducedShape returns shape with the dimensions marked in red set to 1
// (keepdim) or removed.
func reducedShape(shape []int, red []bool, keepdim bool) []int {
	out := make([]int, 0, len(shape))
	for d, s := range shape {
		switch {
		case !red[d]:
			out = append(out, s)
		case keepdim:
			out = append(out, 1)
		}
	}
	return out
}

// keptStrides returns the strides of the contiguous reduced result (with
// dimensions kept) read as shape: 0 along the reduced dimensions.
func keptStrides(shape []int, red []bool) []int {
	st := contiguousStrides(reducedShape(shape, red, true))
	for d, r := range red {
		if r {
			st[d] = 0
		}
	}
	return st
}

// sumOver returns the sums of x over the dimensions marked in red, in
// row-major order of the reduced shape, accumulated in float64.
func sumOver(x *Tensor, red []bool) []float32 {
	acc := make([]float64, numel(reducedShape(x.shape, red, true)))
	xd := x.data[x.offset:]
	walk(x.shape, [][]int{keptStrides(x.shape, red), x.strides}, func(offs []int, n int, inner []int) {
		o, s, os, xs := offs[0], offs[1], inner[0], inner[1]
		if os == 0 {
			var a float64
			for k := range n {
				a += float64(xd[s+k*xs])
			}
			acc[o] += a
			return
		}
		for k := range n {
			acc[o+k*os] += float64(xd[s+k*xs])
		}
	})
	out := make([]float32, len(acc))
	for i, v := range acc {
		out[i] = float32(v)
	}
	return out
}

// dimSplit views a contiguous array as (outer, n, inner) around one
// dimension of size n, so that a reduction along it has outer·inner results.
type dimSplit struct{ outer, n, inner int }

func splitAt(shape []int, d int) dimSplit {
	return dimSplit{outer: numel(shape[:d]), n: shape[d], inner: numel(shape[d+1:])}
}

// at returns the position of element (o, j, i).
func (s dimSplit) at(o, j, i int) int { return (o*s.n+j)*s.inner + i }

// gather copies the n elements (o, ·, i) of src into dst.
func (s dimSplit) gather(dst, src []float32, o, i int) {
	if s.inner == 1 {
		copy(dst, src[o*s.n:(o+1)*s.n])
		return
	}
	for j := range s.n {
		dst[j] = src[s.at(o, j, i)]
	}
}

// scatterAdd adds alpha·src into the n elements (o, ·, i) of dst.
func (s dimSplit) scatterAdd(dst []float32, alpha float32, src []float32, o, i int) {
	if s.inner == 1 {
		kernels.Axpy(alpha, src, dst[o*s.n:(o+1)*s.n])
		return
	}
	for j, v := range src {
		dst[s.at(o, j, i)] += float32(alpha * v)
	}
}
