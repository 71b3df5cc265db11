package tensor_test

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// recycleCases are the operations whose outputs take recycled storage, at
// the geometries that take different kernel paths: a 1×1 convolution read
// in place, a padded 3×3 one, a strided one, a small map whose images share
// one GEMM, few output positions (the transposed product), a residual and
// a ReLU, the average pool, a broadcasting Add, AddReLU, MatMul and a
// Concat of transposed views.
var recycleCases = []struct {
	name string
	op   func(x *tensor.Tensor) *tensor.Tensor
	in   []int
}{
	{"conv1x1", affine(8, 1, 1, 0, false, false), []int{2, 6, 9, 9}},
	{"conv3x3", affine(8, 3, 1, 1, true, false), []int{2, 6, 9, 9}},
	{"conv3x3-stride2", affine(5, 3, 2, 1, true, false), []int{3, 4, 11, 11}},
	{"conv1x1-small-map", affine(16, 1, 1, 0, true, true), []int{8, 12, 7, 7}},
	{"conv3x3-few-positions", affine(24, 3, 1, 1, true, true), []int{2, 16, 2, 2}},
	{"avgpool", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.AvgPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{})
	}, []int{2, 3, 8, 8}},
	{"add-broadcast", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.Add(x, randn(7, x.Dim(1), 1, 1))
	}, []int{2, 3, 5, 6}},
	{"addrelu", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.AddReLU(x, randn(7, x.Shape()...))
	}, []int{3, 4, 7}},
	{"matmul", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.MatMul(x, randn(8, x.Dim(-1), 6))
	}, []int{5, 7}},
	{"matmul-batched", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.MatMul(x, randn(8, x.Dim(0), x.Dim(-1), 6).Transpose(1, 2).Contiguous().Transpose(1, 2))
	}, []int{3, 5, 7}},
	{"concat-transposed", func(x *tensor.Tensor) *tensor.Tensor {
		// The permuted views are copied as transposes (partial tiles).
		return tensor.Concat(1, x.Narrow(2, 0, 1).Permute(0, 2, 1), x.Permute(0, 2, 1))
	}, []int{2, 19, 35}},
}

// affine returns Conv2dAffine with k random r×r filters, the given stride
// and padding, a random map per channel, and a residual and a ReLU if asked.
func affine(k, r, stride, pad int, relu, add bool) func(x *tensor.Tensor) *tensor.Tensor {
	return func(x *tensor.Tensor) *tensor.Tensor {
		w := randn(1, k, x.Dim(1), r, r)
		scale, shift := randn(2, k).Values(), randn(3, k).Values()
		oh := (x.Dim(2)+2*pad-r)/stride + 1
		var res *tensor.Tensor
		if add {
			res = randn(4, x.Dim(0), k, oh, oh)
		}
		return tensor.Conv2dAffine(x, w, scale, shift, res, relu, [2]int{stride, stride}, [2]int{pad, pad})
	}
}

// TestRecycleReusesStorage checks that an output recycled after an
// inference pass is the storage of the next equal-sized output, and that
// its old values, here NaN, do not reach the new one: the values are those
// of the same operation on a tensor that is not an inference tensor, bit
// for bit.
func TestRecycleReusesStorage(t *testing.T) {
	for _, tt := range recycleCases {
		t.Run(tt.name, func(t *testing.T) {
			x := randn(5, tt.in...)
			want := tt.op(x).Values()
			for pass := range 10 {
				y := tt.op(x.Inference())
				got := y.Values()
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("pass %d: [%d] = %v, want %v", pass, i, got[i], want[i])
					}
				}
				data := y.Data()
				for i := range data {
					data[i] = float32(math.NaN())
				}
				y.Recycle()
				// A sync.Pool may drop what it was given (a quarter of it
				// under the race detector); ten tries that all miss mean
				// it is never handed back.
				z := tt.op(x.Inference())
				if &z.Data()[0] == &data[0] {
					z.Recycle()
					return
				}
				z.Recycle()
			}
			t.Fatal("the recycled storage was never reused")
		})
	}
}

// TestRecycleLeavesOthersAlone checks that Recycle does nothing to tensors
// whose storage may be in use elsewhere: tensors made by New, outputs of
// operations that recorded a graph or took no inference input, and views.
func TestRecycleLeavesOthersAlone(t *testing.T) {
	pool := func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.AvgPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{})
	}
	// Each case has its own channel count c, so that its tensors have a
	// length of their own: (1, c, 4, 4), pooled from (1, c, 8, 8).
	tests := []struct {
		name string
		make func(c int) (recycled, kept *tensor.Tensor)
	}{
		{"new", func(c int) (*tensor.Tensor, *tensor.Tensor) {
			x := randn(6, 1, c, 4, 4)
			return x, x
		}},
		{"inference input", func(c int) (*tensor.Tensor, *tensor.Tensor) {
			x := randn(6, 1, c, 4, 4)
			return x.Inference(), x
		}},
		{"no inference input", func(c int) (*tensor.Tensor, *tensor.Tensor) {
			y := pool(randn(6, 1, c, 8, 8))
			return y, y
		}},
		{"graph", func(c int) (*tensor.Tensor, *tensor.Tensor) {
			y := pool(randn(6, 1, c, 8, 8).SetRequiresGrad(true))
			return y, y
		}},
		{"view", func(c int) (*tensor.Tensor, *tensor.Tensor) {
			y := pool(randn(6, 1, c, 8, 8).Inference())
			return y.Reshape(c, 16), y
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := 100 + i
			recycled, kept := tt.make(c)
			want := kept.Values()
			recycled.Recycle()
			// Outputs of the same size would take the storage had it gone
			// back, and overwrite it.
			for range 3 {
				pool(randn(7, 1, c, 8, 8).Inference())
			}
			got := kept.Values()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("[%d] = %v after Recycle, want %v", i, got[i], want[i])
				}
			}
		})
	}
}
