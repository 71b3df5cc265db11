package tensor_test

import (
	"math"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// softmaxRef computes softmax (or log-softmax) of x along dim in float64.
func softmaxRef(x *tensor.Tensor, dim int, log bool) *tensor.Tensor {
	shape := x.Shape()
	if dim < 0 {
		dim += len(shape)
	}
	outer, n, inner := 1, shape[dim], 1
	for _, s := range shape[:dim] {
		outer *= s
	}
	for _, s := range shape[dim+1:] {
		inner *= s
	}
	xs := x.Values()
	out := make([]float64, len(xs))
	for o := range outer {
		for i := range inner {
			at := func(j int) int { return (o*n+j)*inner + i }
			m := math.Inf(-1)
			for j := range n {
				m = math.Max(m, float64(xs[at(j)]))
			}
			var s float64
			for j := range n {
				s += math.Exp(float64(xs[at(j)]) - m)
			}
			for j := range n {
				if log {
					out[at(j)] = float64(xs[at(j)]) - m - math.Log(s)
				} else {
					out[at(j)] = math.Exp(float64(xs[at(j)])-m) / s
				}
			}
		}
	}
	return tensor.FromFloat64(out, shape...)
}

// shiftScale returns x·a + b without recording a graph.
func shiftScale(x *tensor.Tensor, a, b float32) *tensor.Tensor {
	v := x.Values()
	for i := range v {
		v[i] = v[i]*a + b
	}
	return tensor.New(v, x.Shape()...)
}

func TestSoftmaxMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		x    *tensor.Tensor
		dim  int
		ltol float64 // absolute tolerance of LogSoftmax: float32 spacing at |x|
	}{
		{"1d", randn(1, 5), 0, 1e-5},
		{"2d-last", randn(2, 3, 4), -1, 1e-5},
		{"2d-dim0", randn(3, 3, 4), 0, 1e-5},
		{"3d-dim0", randn(4, 2, 3, 4), 0, 1e-5},
		{"3d-dim1", randn(5, 2, 3, 4), 1, 1e-5},
		{"3d-dim2", randn(6, 2, 3, 4), 2, 1e-5},
		{"transposed-view-last", randn(7, 4, 3).T(), 1, 1e-5},
		{"transposed-view-dim0", randn(8, 4, 3).T(), 0, 1e-5},
		{"large-inputs", shiftScale(randn(9, 3, 5), 1000, 1e4), -1, 2e-3},
		{"large-negative-dim0", shiftScale(randn(10, 4, 2), 500, -1e4), 0, 2e-3},
		{"single-element-rows", randn(11, 3, 1), 1, 1e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tensor.Softmax(tt.x, tt.dim)
			if got.HasNaN() {
				t.Fatalf("Softmax has NaN/Inf: %v", got)
			}
			tensortest.AssertClose(t, got, softmaxRef(tt.x, tt.dim, false), 1e-6, 1e-5)
			lgot := tensor.LogSoftmax(tt.x, tt.dim)
			if lgot.HasNaN() {
				t.Fatalf("LogSoftmax has NaN/Inf: %v", lgot)
			}
			tensortest.AssertClose(t, lgot, softmaxRef(tt.x, tt.dim, true), tt.ltol, 1e-6)
		})
	}
}

func TestSoftmaxHandComputed(t *testing.T) {
	// softmax(0, ln 2, ln 3) = (1, 2, 3)/6; along dim 0 of the column vector too.
	x := tensor.FromFloat64([]float64{0, math.Ln2, math.Log(3)}, 3)
	tests := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"softmax", tensor.Softmax(x, 0), []float64{1.0 / 6, 2.0 / 6, 3.0 / 6}},
		{"log-softmax", tensor.LogSoftmax(x, 0), []float64{math.Log(1.0 / 6), math.Log(2.0 / 6), math.Log(3.0 / 6)}},
		{"softmax-column", tensor.Softmax(x.Reshape(3, 1), 0).Reshape(3), []float64{1.0 / 6, 2.0 / 6, 3.0 / 6}},
		{"softmax-shift-invariant", tensor.Softmax(shiftScale(x, 1, 88), 0), []float64{1.0 / 6, 2.0 / 6, 3.0 / 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.AssertClose(t, tt.got, tensor.FromFloat64(tt.want, len(tt.want)), 1e-6, 1e-6)
		})
	}
}

func TestGradSoftmax(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"softmax-last", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Softmax(in[0], -1) }, []*tensor.Tensor{randn(1, 3, 4)}},
		{"softmax-3d-dim0", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Softmax(in[0], 0) }, []*tensor.Tensor{randn(2, 3, 2, 4)}},
		{"softmax-3d-dim1", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Softmax(in[0], 1) }, []*tensor.Tensor{randn(3, 2, 3, 4)}},
		{"softmax-transposed-view", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Softmax(in[0].T(), -1) }, []*tensor.Tensor{randn(4, 4, 3)}},
		{"log-softmax-last", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LogSoftmax(in[0], -1) }, []*tensor.Tensor{randn(5, 3, 4)}},
		{"log-softmax-3d-dim0", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LogSoftmax(in[0], 0) }, []*tensor.Tensor{randn(6, 3, 2, 4)}},
		{"log-softmax-3d-dim1", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LogSoftmax(in[0], 1) }, []*tensor.Tensor{randn(7, 2, 3, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGradAccumulating(t, tt.f, tt.inputs...)
		})
	}
}

func TestSoftmaxPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"softmax-dim", func() { tensor.Softmax(randn(1, 2, 3), 2) }, "tensor: Softmax: dimension 2 out of range"},
		{"log-softmax-dim", func() { tensor.LogSoftmax(randn(1, 2, 3), -3) }, "tensor: LogSoftmax: dimension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}

// checkGradAccumulating runs tensortest.CheckGrad on f and on f applied
// twice to the same inputs and summed, so that a backward pass that
// overwrites gradients instead of adding to them fails.
func checkGradAccumulating(t *testing.T, f func(in []*tensor.Tensor) *tensor.Tensor, inputs ...*tensor.Tensor) {
	t.Helper()
	tensortest.CheckGrad(t, f, inputs...)
	tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Add(f(in), f(in)) }, inputs...)
}

// expectPanic reports through t unless fn panics with a message containing want.
func expectPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one containing %q", want)
			return
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Errorf("panic %v, want one containing %q", r, want)
		}
	}()
	fn()
}
