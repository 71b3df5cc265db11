package tensor_test

import (
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// forEachIndex calls fn with every multi-index of shape in row-major order.
func forEachIndex(shape []int, fn func(idx []int)) {
	for _, s := range shape {
		if s == 0 {
			return
		}
	}
	idx := make([]int, len(shape))
	for {
		fn(idx)
		d := len(shape) - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// refReduce reduces x over dims with a float64 loop: it groups the elements
// by their index outside dims and applies fold to each group, in order.
func refReduce(x *tensor.Tensor, dims []int, keepdim bool, fold func(vals []float64) float64) *tensor.Tensor {
	nd := x.NDim()
	red := make([]bool, nd)
	for _, d := range dims {
		red[(d+nd)%nd] = true
	}
	var shape []int
	for d, s := range x.Shape() {
		switch {
		case !red[d]:
			shape = append(shape, s)
		case keepdim:
			shape = append(shape, 1)
		}
	}
	kept := make([]int, 0, nd)
	for d := range nd {
		if !red[d] {
			kept = append(kept, x.Dim(d))
		}
	}
	groups := make([][]float64, max(1, shapeNumel(kept)))
	forEachIndex(x.Shape(), func(idx []int) {
		g := 0
		for d, i := range idx {
			if !red[d] {
				g = g*x.Dim(d) + i
			}
		}
		groups[g] = append(groups[g], float64(x.At(idx...)))
	})
	if shapeNumel(kept) == 0 {
		groups = nil
	}
	out := make([]float64, len(groups))
	for g, vals := range groups {
		out[g] = fold(vals)
	}
	return tensor.FromFloat64(out, shape...)
}

func shapeNumel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func refSum(v []float64) float64 {
	var s float64
	for _, e := range v {
		s += e
	}
	return s
}

func refMean(v []float64) float64 { return refSum(v) / float64(len(v)) }

func refVar(correction int) func(v []float64) float64 {
	return func(v []float64) float64 {
		m := refMean(v)
		var s float64
		for _, e := range v {
			s += (e - m) * (e - m)
		}
		return s / float64(len(v)-correction)
	}
}

func refLogSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, e := range v {
		m = math.Max(m, e)
	}
	var s float64
	for _, e := range v {
		s += math.Exp(e - m)
	}
	return m + math.Log(s)
}

func TestReduceDimsForward(t *testing.T) {
	type reducer = func(x *tensor.Tensor, dims []int, keepdim bool) *tensor.Tensor
	single := func(f func(*tensor.Tensor, int, bool) *tensor.Tensor) reducer {
		return func(x *tensor.Tensor, dims []int, keepdim bool) *tensor.Tensor { return f(x, dims[0], keepdim) }
	}
	ops := []struct {
		name string
		f    reducer
		ref  func([]float64) float64
	}{
		{"sum", single(tensor.SumDim), refSum},
		{"sums", tensor.SumDims, refSum},
		{"mean", single(tensor.MeanDim), refMean},
		{"means", tensor.MeanDims, refMean},
		{"logsumexp", single(tensor.LogSumExp), refLogSumExp},
		{"var-pop", single(func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { return tensor.Var(x, d, k, 0) }), refVar(0)},
		{"var-unbiased", single(func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { return tensor.Var(x, d, k, 1) }), refVar(1)},
		{"max", single(func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { v, _ := tensor.MaxDim(x, d, k); return v }), func(v []float64) float64 { return slices.Max(v) }},
		{"min", single(func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { v, _ := tensor.MinDim(x, d, k); return v }), func(v []float64) float64 { return slices.Min(v) }},
	}
	inputs := []struct {
		name string
		x    *tensor.Tensor
		dims [][]int
	}{
		{"3d", randn(1, 2, 3, 4), [][]int{{0}, {1}, {2}, {-1}, {-3}, {0, 2}, {2, 0, 1}}},
		{"transposed", randn(2, 4, 5).T(), [][]int{{0}, {1}, {-1}, {0, 1}}},
		{"1d", randn(3, 7), [][]int{{0}}},
		{"large-values", tensor.AddScalar(randn(4, 3, 5), 1000), [][]int{{1}}},
	}
	for _, op := range ops {
		for _, in := range inputs {
			for _, dims := range in.dims {
				if len(dims) > 1 && op.name != "sums" && op.name != "means" {
					continue
				}
				for _, keepdim := range []bool{false, true} {
					name := op.name + "/" + in.name + "/" + fmtInts(dims)
					if keepdim {
						name += "/keepdim"
					}
					t.Run(name, func(t *testing.T) {
						got := op.f(in.x, dims, keepdim)
						tensortest.AssertClose(t, got, refReduce(in.x, dims, keepdim, op.ref), 1e-5, 1e-5)
					})
				}
			}
		}
	}
}

func fmtInts(v []int) string {
	b := []byte{}
	for i, e := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if e < 0 {
			b = append(b, '-')
			e = -e
		}
		b = append(b, byte('0'+e))
	}
	return string(b)
}

func TestReduceHandValues(t *testing.T) {
	inf := math.Inf(1)
	x := tensor.FromFloat64([]float64{
		1, 5, 5, -2,
		3, 3, -1, -1,
		0, 2, 9, 2,
	}, 3, 4)
	tests := []struct {
		name  string
		got   *tensor.Tensor
		shape []int
		want  []float64
	}{
		{"sum-rows", tensor.SumDim(x, 1, false), []int{3}, []float64{9, 4, 13}},
		{"sum-cols-keepdim", tensor.SumDim(x, 0, true), []int{1, 4}, []float64{4, 10, 13, -1}},
		{"mean-all-dims", tensor.MeanDims(x, []int{0, 1}, false), []int{}, []float64{26.0 / 12}},
		{"var-rows-unbiased", tensor.Var(x, -1, false, 1), []int{3}, []float64{34.75 / 3, 16.0 / 3, 46.75 / 3}},
		{"logsumexp-stable", tensor.LogSumExp(tensor.FromFloat64([]float64{1000, 1000, -1000, -inf}, 2, 2), 1, false), []int{2}, []float64{1000 + math.Ln2, -1000}},
		{"logsumexp-all-inf", tensor.LogSumExp(tensor.FromFloat64([]float64{-inf, -inf, inf, 1}, 2, 2), 1, true), []int{2, 1}, []float64{-inf, inf}},
		{"sum-empty-dim", tensor.SumDim(tensor.Zeros(2, 0, 3), 1, false), []int{2, 3}, []float64{0, 0, 0, 0, 0, 0}},
		{"sum-over-nonempty-of-empty", tensor.SumDim(tensor.Zeros(0, 3), 1, true), []int{0, 1}, []float64{}},
		{"logsumexp-empty-dim", tensor.LogSumExp(tensor.Zeros(2, 0), 1, false), []int{2}, []float64{-inf, -inf}},
		{"mean-empty-dim", tensor.MeanDim(tensor.Zeros(1, 0), 1, false), []int{1}, []float64{math.NaN()}},
		{"var-single-unbiased", tensor.Var(tensor.Ones(2, 1), 1, false, 1), []int{2}, []float64{math.NaN(), math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertValues(t, tt.got, tt.shape, tt.want, 1e-4)
		})
	}

	argTests := []struct {
		name    string
		f       func(*tensor.Tensor, int, bool) (*tensor.Tensor, []int)
		dim     int
		keepdim bool
		shape   []int
		vals    []float64
		idx     []int
	}{
		{"max-rows-first-tie", tensor.MaxDim, 1, false, []int{3}, []float64{5, 3, 9}, []int{1, 0, 2}},
		{"max-cols-keepdim", tensor.MaxDim, 0, true, []int{1, 4}, []float64{3, 5, 9, 2}, []int{1, 0, 2, 2}},
		{"min-rows-first-tie", tensor.MinDim, -1, true, []int{3, 1}, []float64{-2, -1, 0}, []int{3, 2, 0}},
	}
	for _, tt := range argTests {
		t.Run(tt.name, func(t *testing.T) {
			v, idx := tt.f(x, tt.dim, tt.keepdim)
			tensortest.AssertClose(t, v, tensor.FromFloat64(tt.vals, tt.shape...), 0, 0)
			if !slices.Equal(idx, tt.idx) {
				t.Errorf("indices %v, want %v", idx, tt.idx)
			}
		})
	}
	if got, want := tensor.Argmax(x, 1), []int{1, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("Argmax rows %v, want %v", got, want)
	}
	if got, want := tensor.Argmax(x.T(), -2), []int{1, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("Argmax of transposed view %v, want %v", got, want)
	}
	nan := math.NaN()
	v, idx := tensor.MaxDim(tensor.FromFloat64([]float64{1, nan, 3}, 3), 0, false)
	if !math.IsNaN(float64(v.Item())) || idx[0] != 1 {
		t.Errorf("MaxDim with NaN = %v at %v, want NaN at 1", v.Item(), idx)
	}
}

// assertValues reports through t unless got has the given shape and values
// within tol, with infinities and NaN matching exactly (tensortest.Close
// accepts any value where want is infinite, since rtol·Inf swallows the
// difference).
func assertValues(t *testing.T, got *tensor.Tensor, shape []int, want []float64, tol float64) {
	t.Helper()
	if !slices.Equal(got.Shape(), shape) {
		t.Fatalf("shape %v, want %v", got.Shape(), shape)
	}
	for i, g := range got.Values() {
		w, gf := want[i], float64(g)
		switch {
		case math.IsNaN(w) || math.IsInf(w, 0):
			if gf != w && !(math.IsNaN(gf) && math.IsNaN(w)) {
				t.Fatalf("element %d: got %v, want %v (all %v)", i, g, w, got.Values())
			}
		case math.Abs(gf-w) > tol:
			t.Fatalf("element %d: got %v, want %v (all %v)", i, g, w, got.Values())
		}
	}
}

func TestReducePanics(t *testing.T) {
	x := tensor.Zeros(2, 3)
	tests := []struct {
		name string
		f    func()
		want []string
	}{
		{"sum-dim-range", func() { tensor.SumDim(x, 2, false) }, []string{"tensor: SumDim: dimension 2 out of range for shape (2,3)"}},
		{"sum-dims-repeat", func() { tensor.SumDims(x, []int{1, -1}, false) }, []string{"tensor: SumDims: dimension 1 repeated in [1 -1]"}},
		{"sum-dims-none", func() { tensor.SumDims(x, nil, false) }, []string{"tensor: SumDims: no dimensions to reduce"}},
		{"mean-dim-range", func() { tensor.MeanDim(x, -3, true) }, []string{"tensor: MeanDim: dimension", "out of range for shape (2,3)"}},
		{"max-empty", func() { tensor.MaxDim(tensor.Zeros(2, 0), 1, false) }, []string{"tensor: MaxDim: dimension 1 of (2,0) is empty"}},
		{"argmax-range", func() { tensor.Argmax(x, 5) }, []string{"tensor: Argmax: dimension 5 out of range"}},
		{"logsumexp-scalar", func() { tensor.LogSumExp(tensor.Scalar(1), 0, false) }, []string{"tensor: LogSumExp: dimension 0 out of range for shape ()"}},
		{"var-correction", func() { tensor.Var(x, 0, false, -1) }, []string{"tensor: Var: negative correction -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { panicsWith(t, tt.f, tt.want...) })
	}
}

// spaced returns a tensor whose elements are a shuffle of values spaced
// 0.1 apart, so that Max and Min have no near-ties within a finite
// difference step.
func spaced(seed uint64, shape ...int) *tensor.Tensor {
	n := shapeNumel(shape)
	v := make([]float32, n)
	for i, p := range tensor.NewRNG(seed).Perm(n) {
		v[i] = 0.1*float32(p) - 0.05*float32(n)
	}
	return tensor.New(v, shape...)
}

func TestReduceGrad(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	maxOf := func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { v, _ := tensor.MaxDim(x, d, k); return v }
	minOf := func(x *tensor.Tensor, d int, k bool) *tensor.Tensor { v, _ := tensor.MinDim(x, d, k); return v }
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"sum-dim", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.SumDim(in[0], 1, false) }, []*tensor.Tensor{randn(1, 2, 3, 4)}},
		{"sum-dims-transposed", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.SumDims(in[0].Transpose(0, 2), []int{0, -1}, true)
		}, []*tensor.Tensor{randn(2, 2, 3, 4)}},
		{"mean-dim-keepdim-broadcast", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Sub(in[0], tensor.MeanDim(in[0], -1, true))
		}, []*tensor.Tensor{randn(3, 3, 4)}},
		{"mean-dims", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MeanDims(in[0], []int{2, 3}, false) }, []*tensor.Tensor{randn(4, 2, 2, 3, 3)}},
		{"max-dim", func(in []*tensor.Tensor) *tensor.Tensor { return maxOf(in[0], 1, false) }, []*tensor.Tensor{spaced(5, 3, 4)}},
		{"max-dim-transposed-keepdim", func(in []*tensor.Tensor) *tensor.Tensor { return maxOf(in[0].T(), 0, true) }, []*tensor.Tensor{spaced(6, 3, 4)}},
		{"min-dim-middle", func(in []*tensor.Tensor) *tensor.Tensor { return minOf(in[0], -2, false) }, []*tensor.Tensor{spaced(7, 2, 3, 2)}},
		{"logsumexp-last", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LogSumExp(in[0], -1, false) }, []*tensor.Tensor{randn(8, 3, 4)}},
		{"logsumexp-first-transposed", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LogSumExp(in[0].T(), 0, true) }, []*tensor.Tensor{randn(9, 3, 4)}},
		{"var-pop", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Var(in[0], 0, false, 0) }, []*tensor.Tensor{randn(10, 4, 3)}},
		{"var-unbiased-transposed", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Var(in[0].T(), -1, true, 1) }, []*tensor.Tensor{randn(11, 4, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.CheckGrad(t, tt.f, tt.inputs...)
		})
	}
}
