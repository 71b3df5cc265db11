package tensor_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// FuzzBroadcast checks Add, Sub, Mul and Div on fuzzed pairs of shapes
// (zero-size and size-1 dimensions, ranks 0 to 4, contiguous or permuted
// views) against an index-by-index reference, values and gradients, and
// that shapes that do not broadcast are refused with a message naming them.
func FuzzBroadcast(f *testing.F) {
	f.Add([]byte{3, 2, 2, 3, 4, 3, 4}, uint64(1), false)
	f.Add([]byte{2, 3, 1, 5, 4, 1, 5}, uint64(2), true)
	f.Add([]byte{1, 0, 0}, uint64(3), false)
	f.Add([]byte{4, 4, 2, 1, 0, 3, 1, 1, 0, 3}, uint64(4), true)
	f.Fuzz(func(t *testing.T, spec []byte, seed uint64, view bool) {
		if len(spec) < 2 {
			t.Skip()
		}
		ra, rb := int(spec[0]%5), int(spec[1]%5)
		dims := spec[2:]
		dim := func(i int) int {
			if i < len(dims) {
				return int(dims[i] % 4)
			}
			return 1
		}
		sa, sb := make([]int, ra), make([]int, rb)
		for i := range sa {
			sa[i] = dim(i)
		}
		for i := range sb {
			// Mostly compatible: b's dimension copies a's aligned one or is 1.
			d := dim(ra + i)
			if j := ra - rb + i; j >= 0 && d < 3 {
				d = []int{sa[j], 1, sa[j]}[d]
			}
			sb[i] = d
		}
		want, ok := refBroadcast(sa, sb)
		ops := []struct {
			name string
			f    func(a, b *tensor.Tensor) *tensor.Tensor
			v    func(x, y float64) float64
			da   func(x, y float64) float64
			db   func(x, y float64) float64
		}{
			{"Add", tensor.Add, func(x, y float64) float64 { return x + y }, func(x, y float64) float64 { return 1 }, func(x, y float64) float64 { return 1 }},
			{"Sub", tensor.Sub, func(x, y float64) float64 { return x - y }, func(x, y float64) float64 { return 1 }, func(x, y float64) float64 { return -1 }},
			{"Mul", tensor.Mul, func(x, y float64) float64 { return x * y }, func(x, y float64) float64 { return y }, func(x, y float64) float64 { return x }},
			{"Div", tensor.Div, func(x, y float64) float64 { return x / y }, func(x, y float64) float64 { return 1 / y }, func(x, y float64) float64 { return -x / (y * y) }},
		}
		for _, op := range ops {
			a, la := fuzzOperand(seed, sa, view)
			b, lb := fuzzOperand(seed+1, sb, view)
			if !ok {
				func() {
					defer func() {
						msg := fmt.Sprint(recover())
						if !strings.Contains(msg, "do not broadcast") {
							t.Fatalf("%s %v %v: panic %q, want a broadcast error", op.name, sa, sb, msg)
						}
					}()
					op.f(a, b)
				}()
				continue
			}
			y := op.f(a, b)
			if !slices.Equal(y.Shape(), want) {
				t.Fatalf("%s %v %v: shape %v, want %v", op.name, sa, sb, y.Shape(), want)
			}
			gy := randn(seed+2, want...)
			if y.Numel() > 0 {
				tensor.Sum(tensor.Mul(y, gy)).Backward()
			}
			av, bv, yv, gv := a.Values(), b.Values(), y.Values(), gy.Values()
			wantDA, wantDB := make([]float64, len(av)), make([]float64, len(bv))
			forEachOffset(want, func(o int, idx []int) {
				ia, ib := flatIndex(sa, idx), flatIndex(sb, idx)
				x, z := float64(av[ia]), float64(bv[ib])
				if w := op.v(x, z); math.Abs(float64(yv[o])-w) > 1e-5*(1+math.Abs(w)) {
					t.Fatalf("%s %v %v: y[%d] = %v, want %v", op.name, sa, sb, o, yv[o], w)
				}
				wantDA[ia] += float64(gv[o]) * op.da(x, z)
				wantDB[ib] += float64(gv[o]) * op.db(x, z)
			})
			for _, g := range []struct {
				name string
				leaf func() *tensor.Tensor // the gradient as the operand's view of it
				want []float64
			}{{"da", la, wantDA}, {"db", lb, wantDB}} {
				got := make([]float32, len(g.want)) // when no output element reached it
				if gt := g.leaf(); gt != nil {
					got = gt.Values()
				}
				for i, w := range g.want {
					if math.Abs(float64(got[i])-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("%s %v %v: %s[%d] = %v, want %v", op.name, sa, sb, g.name, i, got[i], w)
					}
				}
			}
		}
	})
}

// fuzzOperand returns a tensor of the given shape, away from zero (a
// divisor), as a permuted view of a leaf that requires gradients when view
// is set, and a function returning the leaf's gradient seen through the
// same view (nil before any).
func fuzzOperand(seed uint64, shape []int, view bool) (*tensor.Tensor, func() *tensor.Tensor) {
	n := len(shape)
	values := func(shape []int) *tensor.Tensor {
		x := tensor.AddScalar(tensor.MulScalar(tensor.Abs(randn(seed, shape...)), 0.5), 0.5)
		return x.Detach().SetRequiresGrad(true)
	}
	if !view || n < 2 {
		x := values(shape)
		return x, x.Grad
	}
	rev := slices.Clone(shape)
	slices.Reverse(rev)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = n - 1 - i
	}
	x := values(rev)
	return x.Permute(perm...), func() *tensor.Tensor {
		if x.Grad() == nil {
			return nil
		}
		return x.Grad().Permute(perm...)
	}
}

// refBroadcast returns NumPy's broadcast of shapes a and b, or false.
func refBroadcast(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 1; i <= n; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db || db == 1:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// forEachOffset calls fn with the row-major offset and the index of every
// element of shape.
func forEachOffset(shape []int, fn func(o int, idx []int)) {
	total := 1
	for _, d := range shape {
		total *= d
	}
	idx := make([]int, len(shape))
	for o := 0; o < total; o++ {
		rem := o
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i] = rem % shape[i]
			rem /= shape[i]
		}
		fn(o, idx)
	}
}

// flatIndex returns the row-major offset in shape of the broadcast index
// idx (aligned from the end; size-1 dimensions read index 0).
func flatIndex(shape, idx []int) int {
	o, lead := 0, len(idx)-len(shape)
	for i, d := range shape {
		j := 0
		if d != 1 {
			j = idx[lead+i]
		}
		o = o*d + j
	}
	return o
}
