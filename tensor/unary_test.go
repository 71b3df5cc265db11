package tensor_test

import (
	"math"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// uniformT returns a tensor of values drawn uniformly from [lo, hi).
func uniformT(seed uint64, lo, hi float32, shape ...int) *tensor.Tensor {
	return tensor.RandUniform(tensor.NewRNG(seed), lo, hi, shape...)
}

// kinkFree is a (3,4) input whose elements lie at least 0.1 from 0, ±0.5 and
// 0.7, the kinks of ReLU, Abs and the Clamp below, so that central
// differences with step 1e-2 see a smooth function.
func kinkFree() *tensor.Tensor {
	return tensor.New([]float32{-1.3, -0.8, -0.35, 0.25, 0.85, 0.95, 1.4, -1.9, 0.15, -0.15, 1.1, -0.65}, 3, 4)
}

// panicsWith reports through t unless f panics with a message containing
// every string of want.
func panicsWith(t *testing.T, f func(), want ...string) {
	t.Helper()
	r := recovered(f)
	msg, _ := r.(string)
	for _, w := range want {
		if r == nil || !strings.Contains(msg, w) {
			t.Errorf("panic %v, want a message containing %q", r, w)
		}
	}
}

// recovered runs f and returns the value it panicked with, or nil.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// mapRef applies ref to every element of x in float64.
func mapRef(x *tensor.Tensor, ref func(float64) float64) *tensor.Tensor {
	v := x.Values()
	out := make([]float64, len(v))
	for i, e := range v {
		out[i] = ref(float64(e))
	}
	return tensor.FromFloat64(out, x.Shape()...)
}

func refSigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func TestUnaryForward(t *testing.T) {
	wide := tensor.FromFloat64([]float64{-100, -20, -3, -0.5, 0, 0.5, 3, 20, 100}, 9)
	pos := uniformT(1, 0.1, 4, 4, 5)
	tests := []struct {
		name string
		f    func(*tensor.Tensor) *tensor.Tensor
		ref  func(float64) float64
		x    *tensor.Tensor
	}{
		{"neg", tensor.Neg, func(v float64) float64 { return -v }, randn(1, 3, 4)},
		{"exp", tensor.Exp, math.Exp, randn(2, 3, 4)},
		{"exp-transposed", tensor.Exp, math.Exp, randn(3, 4, 3).T()},
		{"log", tensor.Log, math.Log, pos},
		{"sqrt", tensor.Sqrt, math.Sqrt, pos},
		{"rsqrt", tensor.Rsqrt, func(v float64) float64 { return 1 / math.Sqrt(v) }, pos},
		{"square", tensor.Square, func(v float64) float64 { return v * v }, randn(4, 3, 4)},
		{"pow-3", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, 3) }, func(v float64) float64 { return v * v * v }, randn(5, 3, 4)},
		{"pow-half", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, 0.5) }, math.Sqrt, pos},
		{"pow-neg", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, -1.5) }, func(v float64) float64 { return math.Pow(v, -1.5) }, pos},
		{"abs", tensor.Abs, math.Abs, randn(6, 3, 4)},
		{"sigmoid", tensor.Sigmoid, refSigmoid, wide},
		{"tanh", tensor.Tanh, math.Tanh, wide},
		{"relu", tensor.ReLU, func(v float64) float64 { return math.Max(v, 0) }, wide},
		{"gelu", tensor.GELU, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }, wide},
		{"quickgelu", tensor.QuickGELU, func(v float64) float64 { return v * refSigmoid(1.702*v) }, wide},
		{"clamp", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, -0.5, 0.7) }, func(v float64) float64 { return math.Min(math.Max(v, -0.5), 0.7) }, randn(7, 3, 4)},
		{"clamp-one-sided", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, float32(math.Inf(-1)), 0.2) }, func(v float64) float64 { return math.Min(v, 0.2) }, randn(8, 3, 4)},
		{"add-scalar", func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 2.5) }, func(v float64) float64 { return v + 2.5 }, randn(9, 2, 3).T()},
		{"mul-scalar", func(x *tensor.Tensor) *tensor.Tensor { return tensor.MulScalar(x, -0.25) }, func(v float64) float64 { return -0.25 * v }, randn(10, 2, 3)},
		// Above the parallel split threshold.
		{"gelu-large", tensor.GELU, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }, randn(11, 5, 20000)},
		{"empty", tensor.Exp, math.Exp, tensor.Zeros(3, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f(tt.x)
			tensortest.AssertClose(t, got, mapRef(tt.x, tt.ref), 1e-6, 1e-5)
			if !got.IsContiguous() {
				t.Errorf("result not contiguous")
			}
		})
	}
}

func TestUnarySpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name string
		f    func(*tensor.Tensor) *tensor.Tensor
		in   []float32
		want []float32
	}{
		{"relu-nan", tensor.ReLU, []float32{nan, -1, 2}, []float32{nan, 0, 2}},
		{"clamp-nan", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, 0, 1) }, []float32{nan, -1, 2}, []float32{nan, 0, 1}},
		{"log-edges", tensor.Log, []float32{0, -1, 1}, []float32{-inf, nan, 0}},
		{"sqrt-edges", tensor.Sqrt, []float32{0, -1, inf}, []float32{0, nan, inf}},
		{"sigmoid-saturates", tensor.Sigmoid, []float32{-inf, 0, inf}, []float32{0, 0.5, 1}},
		{"tanh-saturates", tensor.Tanh, []float32{-inf, 0, inf}, []float32{-1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f(tensor.New(tt.in, len(tt.in))).Values()
			for i, w := range tt.want {
				g := got[i]
				if g != w && !(g != g && w != w) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestClampPanics(t *testing.T) {
	panicsWith(t, func() { tensor.Clamp(tensor.Zeros(2), 1, 0) }, "tensor: Clamp: lower bound 1 is above upper bound 0")
}

func TestUnaryGrad(t *testing.T) {
	type op = func(*tensor.Tensor) *tensor.Tensor
	ops := []struct {
		name string
		f    op
		x    func() *tensor.Tensor // a fresh (3,4) input in the op's smooth domain
	}{
		{"neg", tensor.Neg, func() *tensor.Tensor { return randn(1, 3, 4) }},
		{"exp", tensor.Exp, func() *tensor.Tensor { return randn(2, 3, 4) }},
		{"log", tensor.Log, func() *tensor.Tensor { return uniformT(3, 0.5, 2, 3, 4) }},
		{"sqrt", tensor.Sqrt, func() *tensor.Tensor { return uniformT(4, 0.5, 2, 3, 4) }},
		{"rsqrt", tensor.Rsqrt, func() *tensor.Tensor { return uniformT(5, 0.5, 2, 3, 4) }},
		{"square", tensor.Square, func() *tensor.Tensor { return randn(6, 3, 4) }},
		{"pow-3", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, 3) }, func() *tensor.Tensor { return randn(7, 3, 4) }},
		{"pow-frac", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, -1.5) }, func() *tensor.Tensor { return uniformT(8, 0.5, 2, 3, 4) }},
		{"abs", tensor.Abs, kinkFree},
		{"sigmoid", tensor.Sigmoid, func() *tensor.Tensor { return randn(9, 3, 4) }},
		{"tanh", tensor.Tanh, func() *tensor.Tensor { return randn(10, 3, 4) }},
		{"relu", tensor.ReLU, kinkFree},
		{"gelu", tensor.GELU, func() *tensor.Tensor { return randn(11, 3, 4) }},
		{"quickgelu", tensor.QuickGELU, func() *tensor.Tensor { return randn(12, 3, 4) }},
		{"clamp", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, -0.5, 0.7) }, kinkFree},
		{"add-scalar", func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 3) }, func() *tensor.Tensor { return randn(13, 3, 4) }},
		{"mul-scalar", func(x *tensor.Tensor) *tensor.Tensor { return tensor.MulScalar(x, -1.5) }, func() *tensor.Tensor { return randn(14, 3, 4) }},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor { return o.f(in[0]) }, o.x())
		})
		// A transposed view takes the copying path; using it twice makes
		// the second gradient add to the first.
		t.Run(o.name+"-transposed-twice", func(t *testing.T) {
			tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
				v := in[0].T()
				return tensor.Mul(o.f(v), o.f(v))
			}, o.x())
		})
	}
}
