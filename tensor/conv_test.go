package tensor_test

import (
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// conv2dRef is the direct definition of a zero-padded 2-D cross-correlation
// in float64; b may be nil.
func conv2dRef(x, w, b *tensor.Tensor, stride, padding [2]int) *tensor.Tensor {
	n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	k, r, s := w.Dim(0), w.Dim(2), w.Dim(3)
	oh := (h+2*padding[0]-r)/stride[0] + 1
	ow := (wd+2*padding[1]-s)/stride[1] + 1
	out := make([]float64, n*k*oh*ow)
	for i := range n {
		for kk := range k {
			for oy := range oh {
				for ox := range ow {
					var acc float64
					if b != nil {
						acc = float64(b.At(kk))
					}
					for ch := range c {
						for dy := range r {
							for dx := range s {
								iy, ix := oy*stride[0]-padding[0]+dy, ox*stride[1]-padding[1]+dx
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									acc += float64(x.At(i, ch, iy, ix)) * float64(w.At(kk, ch, dy, dx))
								}
							}
						}
					}
					out[((i*k+kk)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return tensor.FromFloat64(out, n, k, oh, ow)
}

// convCases are the convolution shapes both the forward and the gradient
// tests run.
var convCases = []struct {
	name            string
	x, w, b         *tensor.Tensor
	stride, padding [2]int
}{
	{"3x3", randn(1, 1, 2, 5, 5), randn(2, 3, 2, 3, 3), randn(3, 3), [2]int{1, 1}, [2]int{0, 0}},
	{"3x3-stride2-pad1", randn(4, 1, 2, 5, 6), randn(5, 3, 2, 3, 3), randn(6, 3), [2]int{2, 2}, [2]int{1, 1}},
	{"non-square-kernel", randn(7, 1, 2, 4, 5), randn(8, 2, 2, 2, 3), randn(9, 2), [2]int{2, 1}, [2]int{1, 0}},
	{"1x1", randn(10, 2, 3, 3, 2), randn(11, 4, 3, 1, 1), randn(12, 4), [2]int{1, 1}, [2]int{0, 0}},
	{"1x1-stride2", randn(13, 1, 3, 4, 4), randn(14, 2, 3, 1, 1), nil, [2]int{2, 2}, [2]int{0, 0}},
	{"batch2-no-bias", randn(15, 2, 2, 4, 4), randn(16, 3, 2, 3, 3), nil, [2]int{1, 1}, [2]int{1, 1}},
	{"kernel-covers-input", randn(17, 2, 1, 3, 3), randn(18, 2, 1, 3, 3), randn(19, 2), [2]int{1, 1}, [2]int{0, 0}},
	{"large-padding", randn(20, 1, 1, 2, 2), randn(21, 1, 1, 2, 2), nil, [2]int{1, 1}, [2]int{2, 2}},
}

func TestConv2dMatchesReference(t *testing.T) {
	for _, tt := range convCases {
		t.Run(tt.name, func(t *testing.T) {
			got := tensor.Conv2d(tt.x, tt.w, tt.b, tt.stride, tt.padding)
			tensortest.AssertClose(t, got, conv2dRef(tt.x, tt.w, tt.b, tt.stride, tt.padding), 1e-5, 1e-5)
		})
	}
	t.Run("permuted-view-input", func(t *testing.T) {
		x := randn(30, 2, 5, 4, 3).Permute(0, 3, 1, 2) // (2,3,5,4), not contiguous
		w := randn(31, 2, 3, 2, 2)
		got := tensor.Conv2d(x, w, nil, [2]int{1, 2}, [2]int{1, 1})
		tensortest.AssertClose(t, got, conv2dRef(x, w, nil, [2]int{1, 2}, [2]int{1, 1}), 1e-5, 1e-5)
	})
	t.Run("hand-computed", func(t *testing.T) {
		// 1..9 in a 3×3 image, a 2×2 filter of ones: the sums of 2×2 blocks, plus 0.5.
		x := tensor.FromFloat64([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
		got := tensor.Conv2d(x, tensor.Ones(1, 1, 2, 2), tensor.Full(0.5, 1), [2]int{1, 1}, [2]int{0, 0})
		tensortest.AssertClose(t, got, tensor.FromFloat64([]float64{12.5, 16.5, 24.5, 28.5}, 1, 1, 2, 2), 0, 0)
	})
}

func TestGradConv2d(t *testing.T) {
	for _, tt := range convCases {
		t.Run(tt.name, func(t *testing.T) {
			stride, padding := tt.stride, tt.padding
			if tt.b == nil {
				checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
					return tensor.Conv2d(in[0], in[1], nil, stride, padding)
				}, tt.x.Clone(), tt.w.Clone())
				return
			}
			checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
				return tensor.Conv2d(in[0], in[1], in[2], stride, padding)
			}, tt.x.Clone(), tt.w.Clone(), tt.b.Clone())
		})
	}
	t.Run("weight-only", func(t *testing.T) {
		// The input does not require a gradient: only dW and dbias are computed.
		x := randn(40, 1, 2, 4, 4)
		checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Conv2d(x, in[0], in[1], [2]int{2, 2}, [2]int{1, 1})
		}, randn(41, 2, 2, 3, 3), randn(42, 2))
	})
}

func TestConv2dPanics(t *testing.T) {
	x := randn(1, 1, 2, 4, 4)
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"channels", func() { tensor.Conv2d(x, randn(2, 3, 3, 3, 3), nil, [2]int{1, 1}, [2]int{0, 0}) }, "tensor: Conv2d: input (1,2,4,4) and weight (3,3,3,3) do not match"},
		{"input-3d", func() { tensor.Conv2d(randn(3, 2, 4, 4), randn(2, 3, 2, 3, 3), nil, [2]int{1, 1}, [2]int{0, 0}) }, "tensor: Conv2d: input has shape (2,4,4)"},
		{"weight-3d", func() { tensor.Conv2d(x, randn(2, 3, 3, 3), nil, [2]int{1, 1}, [2]int{0, 0}) }, "tensor: Conv2d: weight has shape (3,3,3)"},
		{"bias", func() { tensor.Conv2d(x, randn(2, 3, 2, 3, 3), randn(3, 2), [2]int{1, 1}, [2]int{0, 0}) }, "tensor: Conv2d: bias has shape (2), want (3)"},
		{"stride-0", func() { tensor.Conv2d(x, randn(2, 3, 2, 3, 3), nil, [2]int{0, 1}, [2]int{0, 0}) }, "tensor: Conv2d: bad window"},
		{"negative-padding", func() { tensor.Conv2d(x, randn(2, 3, 2, 3, 3), nil, [2]int{1, 1}, [2]int{-1, 0}) }, "tensor: Conv2d: bad window"},
		{"kernel-too-large", func() { tensor.Conv2d(x, randn(2, 3, 2, 5, 3), nil, [2]int{1, 1}, [2]int{0, 0}) }, "tensor: Conv2d: window 5×3 is larger than input"},
		{"affine-scales", func() {
			tensor.Conv2dAffine(x, randn(2, 3, 2, 3, 3), make([]float32, 2), make([]float32, 3), nil, true, [2]int{1, 1}, [2]int{1, 1})
		}, "tensor: Conv2dAffine: 2 scales and 3 shifts for 3 output channels"},
		{"affine-residual", func() {
			tensor.Conv2dAffine(x, randn(2, 3, 2, 3, 3), make([]float32, 3), make([]float32, 3), randn(3, 1, 3, 4, 3), true, [2]int{1, 1}, [2]int{1, 1})
		}, "tensor: Conv2dAffine: residual has shape (1,3,4,3), want [1 3 4 4]"},
		{"affine-weight-3d", func() {
			tensor.Conv2dAffine(x, randn(2, 3, 3, 3), nil, nil, nil, false, [2]int{1, 1}, [2]int{0, 0})
		}, "tensor: Conv2dAffine: weight has shape (3,3,3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}

// affineCase is one Conv2dAffine configuration of the tests.
type affineCase struct {
	name      string
	x, w, add []int // shapes; add nil for no residual
	relu      bool
	stride    [2]int
	padding   [2]int
}

var affineCases = []affineCase{
	{"bn-relu", []int{2, 3, 6, 6}, []int{4, 3, 3, 3}, nil, true, [2]int{1, 1}, [2]int{1, 1}},
	{"bn", []int{2, 3, 7, 5}, []int{4, 3, 3, 3}, nil, false, [2]int{2, 2}, [2]int{1, 1}},
	{"bn-residual-relu", []int{2, 4, 5, 5}, []int{6, 4, 1, 1}, []int{2, 6, 5, 5}, true, [2]int{1, 1}, [2]int{0, 0}},
	{"batched-7x7", []int{8, 4, 7, 7}, []int{5, 4, 3, 3}, []int{8, 5, 7, 7}, true, [2]int{1, 1}, [2]int{1, 1}},
}

// TestConv2dAffineMatchesComposed checks Conv2dAffine against Conv2d,
// BatchNorm in evaluation mode and AddReLU (or ReLU) bit for bit: outputs
// and the gradients of x, w and the residual, and the output from an inference x.
func TestConv2dAffineMatchesComposed(t *testing.T) {
	for _, tt := range affineCases {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.w[0]
			gamma, beta, mean := randn(5, k), randn(6, k), randn(7, k)
			variance := tensor.AddScalar(tensor.Mul(randn(8, k), randn(8, k)), 0.5)
			scale, shift := tensor.BatchNormScaleShift(gamma, beta, mean, variance, 1e-5)
			run := func(fused, grad bool) [][]float32 {
				x, w := randn(1, tt.x...), randn(2, tt.w...)
				var add *tensor.Tensor
				ins := []*tensor.Tensor{x, w}
				if tt.add != nil {
					add = randn(3, tt.add...)
					ins = append(ins, add)
				}
				f := func() *tensor.Tensor {
					if fused {
						return tensor.Conv2dAffine(x, w, scale, shift, add, tt.relu, tt.stride, tt.padding)
					}
					y := tensor.Conv2d(x, w, nil, tt.stride, tt.padding)
					switch {
					case add != nil && tt.relu:
						return tensor.AddReLU(tensor.BatchNorm(y, gamma, beta, mean, variance, false, 0.1, 1e-5), add)
					case tt.relu:
						return tensor.BatchNormReLU(y, gamma, beta, mean, variance, false, 0.1, 1e-5)
					case add != nil:
						return tensor.Add(tensor.BatchNorm(y, gamma, beta, mean, variance, false, 0.1, 1e-5), add)
					}
					return tensor.BatchNorm(y, gamma, beta, mean, variance, false, 0.1, 1e-5)
				}
				for _, in := range ins {
					in.SetRequiresGrad(true)
				}
				if !grad {
					x = x.Inference()
					y := f()
					if y.RequiresGrad() || !y.IsInference() {
						t.Fatalf("output from an inference x: requires grad %v, inference %v", y.RequiresGrad(), y.IsInference())
					}
					return [][]float32{y.Values()}
				}
				y := f()
				tensor.Sum(tensor.Mul(y, randn(4, y.Shape()...))).Backward()
				vals := [][]float32{y.Values()}
				for _, in := range ins {
					vals = append(vals, in.Grad().Values())
				}
				return vals
			}
			names := []string{"output", "dx", "dw", "dadd"}
			want := run(false, true)
			assertSameBits(t, names[:len(want)], run(true, true), want)
			assertSameBits(t, []string{"output without the graph"}, run(true, false), run(false, false))
		})
	}
}

func TestGradConv2dAffine(t *testing.T) {
	// Small outputs where a ReLU is involved: finite differences across its
	// kink are wrong, and a larger output is likelier to have a value
	// within a step of 0. The batched path runs without the ReLU.
	for _, tt := range []affineCase{
		{"bn-relu", []int{2, 2, 3, 3}, []int{2, 2, 3, 3}, nil, true, [2]int{1, 1}, [2]int{1, 1}},
		{"bn-strided", []int{2, 3, 7, 5}, []int{4, 3, 3, 3}, nil, false, [2]int{2, 2}, [2]int{1, 1}},
		{"bn-residual-relu", []int{1, 2, 3, 3}, []int{3, 2, 1, 1}, []int{1, 3, 3, 3}, true, [2]int{1, 1}, [2]int{0, 0}},
		{"batched-7x7-residual", []int{8, 3, 7, 7}, []int{2, 3, 3, 3}, []int{8, 2, 7, 7}, false, [2]int{1, 1}, [2]int{1, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.w[0]
			scale, shift := randn(5, k).Values(), randn(6, k).Values()
			ins := []*tensor.Tensor{randn(1, tt.x...), randn(2, tt.w...)}
			if tt.add != nil {
				ins = append(ins, randn(3, tt.add...))
			}
			checkGradAccumulating(t, func(in []*tensor.Tensor) *tensor.Tensor {
				var add *tensor.Tensor
				if len(in) > 2 {
					add = in[2]
				}
				return tensor.Conv2dAffine(in[0], in[1], scale, shift, add, tt.relu, tt.stride, tt.padding)
			}, ins...)
		})
	}
}
