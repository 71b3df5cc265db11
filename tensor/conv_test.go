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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}
