package tensor_test

import (
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// seq returns the tensor 0, 1, 2, … of the given shape.
func seq(shape ...int) *tensor.Tensor {
	return tensor.Arange(shapeNumel(shape)).Reshape(shape...)
}

func TestIndexForward(t *testing.T) {
	x := seq(2, 3) // [[0 1 2] [3 4 5]]
	inf := math.Inf(-1)
	tests := []struct {
		name  string
		got   *tensor.Tensor
		shape []int
		want  []float64
	}{
		{"concat-0", tensor.Concat(0, x, tensor.Full(9, 1, 3)), []int{3, 3}, []float64{0, 1, 2, 3, 4, 5, 9, 9, 9}},
		{"concat-last-with-view", tensor.Concat(-1, x, seq(2, 2).T(), tensor.Zeros(2, 0)), []int{2, 5}, []float64{0, 1, 2, 0, 2, 3, 4, 5, 1, 3}},
		{"concat-one", tensor.Concat(1, x), []int{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
		{"stack-0", tensor.Stack(0, x, x), []int{2, 2, 3}, []float64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}},
		{"stack-last", tensor.Stack(-1, tensor.Arange(3), tensor.Full(7, 3)), []int{3, 2}, []float64{0, 7, 1, 7, 2, 7}},
		{"stack-middle", tensor.Stack(1, x, tensor.Full(-1, 2, 3)), []int{2, 2, 3}, []float64{0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1, -1}},
		{"index-select-rows", tensor.IndexSelect(x, 0, []int{1, 1, 0}), []int{3, 3}, []float64{3, 4, 5, 3, 4, 5, 0, 1, 2}},
		{"index-select-cols", tensor.IndexSelect(x, -1, []int{2, 0}), []int{2, 2}, []float64{2, 0, 5, 3}},
		{"index-select-view", tensor.IndexSelect(x.T(), 1, []int{1}), []int{3, 1}, []float64{3, 4, 5}},
		{"index-select-none", tensor.IndexSelect(x, 0, nil), []int{0, 3}, []float64{}},
		{"gather-1", tensor.Gather(x, 1, []int{2, 0, 1, 1}, 2, 2), []int{2, 2}, []float64{2, 0, 4, 4}},
		{"gather-0", tensor.Gather(x, 0, []int{1, 0, 1}, 1, 3), []int{1, 3}, []float64{3, 1, 5}},
		{"gather-labels", tensor.Gather(x, 1, []int{2, 1}, 2, 1), []int{2, 1}, []float64{2, 4}},
		{"gather-view", tensor.Gather(x.T(), 0, []int{1, 2, 0, 0}, 2, 2), []int{2, 2}, []float64{1, 5, 0, 3}},
		{"embedding", tensor.Embedding(seq(4, 2), []int{3, 0, 3, 1}, 2, 2), []int{2, 2, 2}, []float64{6, 7, 0, 1, 6, 7, 2, 3}},
		{"embedding-1d", tensor.Embedding(seq(4, 2), []int{2}), []int{1, 2}, []float64{4, 5}},
		{"where", tensor.Where([]bool{true, false, false, true, true, false}, x, tensor.Full(-1, 3)), []int{2, 3}, []float64{0, -1, -1, 3, 4, -1}},
		{"where-broadcast-both", tensor.Where([]bool{true, false, false, true}, tensor.Arange(2).Reshape(2, 1), tensor.Full(5, 2)), []int{2, 2}, []float64{0, 5, 5, 1}},
		{"masked-fill", tensor.MaskedFill(x.T(), []bool{false, true, false, false, true, false}, float32(inf)), []int{3, 2}, []float64{0, inf, 1, 4, inf, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertValues(t, tt.got, tt.shape, tt.want, 0)
		})
	}
}

// TestIndexGradAccumulates checks by hand that repeated indices add their
// gradients and that untouched elements get zero.
func TestIndexGradAccumulates(t *testing.T) {
	tests := []struct {
		name  string
		f     func(x *tensor.Tensor) *tensor.Tensor
		shape []int
		want  []float32
	}{
		{"index-select", func(x *tensor.Tensor) *tensor.Tensor { return tensor.IndexSelect(x, 0, []int{2, 0, 2, 2}) }, []int{3}, []float32{1, 0, 3}},
		{"gather", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Gather(x, 1, []int{0, 0, 1, 1}, 1, 4) }, []int{1, 3}, []float32{2, 2, 0}},
		{"embedding", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Embedding(x, []int{1, 1, 1}) }, []int{2, 2}, []float32{0, 0, 3, 3}},
		{"masked-fill", func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.MaskedFill(x, []bool{true, false, true}, 0)
		}, []int{3}, []float32{0, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tensor.Zeros(tt.shape...).SetRequiresGrad(true)
			tensor.Sum(tt.f(x)).Backward()
			if got := x.Grad().Values(); !slices.Equal(got, tt.want) {
				t.Errorf("grad %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIndexGrad(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"concat", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Concat(1, in[0], in[1].T(), in[2]) }, []*tensor.Tensor{randn(1, 2, 3), randn(2, 4, 2), randn(3, 2, 1)}},
		{"concat-same-twice", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Concat(0, in[0], in[0]) }, []*tensor.Tensor{randn(4, 2, 3)}},
		{"stack", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Stack(-1, in[0], in[1].T()) }, []*tensor.Tensor{randn(5, 2, 3), randn(6, 3, 2)}},
		{"index-select", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.IndexSelect(in[0], 1, []int{3, 0, 3, 1}) }, []*tensor.Tensor{randn(7, 2, 4, 3)}},
		{"index-select-view", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.IndexSelect(in[0].T(), 0, []int{2, 2}) }, []*tensor.Tensor{randn(8, 2, 3)}},
		{"gather", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Gather(in[0], 1, []int{0, 2, 2, 1, 1, 1}, 2, 3)
		}, []*tensor.Tensor{randn(9, 3, 4)}},
		{"gather-view", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Gather(in[0].T(), 0, []int{1, 0, 1, 2}, 2, 2)
		}, []*tensor.Tensor{randn(10, 3, 3)}},
		{"embedding", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Embedding(in[0], []int{4, 0, 4, 2, 1, 4}, 3, 2)
		}, []*tensor.Tensor{randn(11, 5, 3)}},
		{"where-broadcast", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Where([]bool{true, false, true, true, false, false}, in[0], in[1])
		}, []*tensor.Tensor{randn(12, 2, 3), randn(13, 3)}},
		{"where-same", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Where([]bool{true, false, true, false}, in[0], tensor.Neg(in[0]))
		}, []*tensor.Tensor{randn(14, 4)}},
		{"masked-fill-view", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.MaskedFill(in[0].T(), []bool{false, true, true, false, false, true}, -5)
		}, []*tensor.Tensor{randn(15, 2, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.CheckGrad(t, tt.f, tt.inputs...)
		})
	}
}

func TestIndexPanics(t *testing.T) {
	x := tensor.Zeros(2, 3)
	tests := []struct {
		name string
		f    func()
		want []string
	}{
		{"concat-none", func() { tensor.Concat(0) }, []string{"tensor: Concat: no tensors"}},
		{"concat-mismatch", func() { tensor.Concat(0, x, tensor.Zeros(2, 4)) }, []string{"tensor: Concat: shapes (2,3) and (2,4) do not match outside dimension 0"}},
		{"concat-ndim", func() { tensor.Concat(1, x, tensor.Zeros(6)) }, []string{"tensor: Concat: shapes (2,3) and (6) do not match"}},
		{"concat-dim", func() { tensor.Concat(2, x, x) }, []string{"tensor: Concat: dimension 2 out of range for shape (2,3)"}},
		{"stack-mismatch", func() { tensor.Stack(0, x, tensor.Zeros(3, 2)) }, []string{"tensor: Stack: shapes (2,3) and (3,2) do not match"}},
		{"stack-dim", func() { tensor.Stack(3, x) }, []string{"tensor: Stack: dimension 3 out of range for shape (2,3)"}},
		{"index-select-range", func() { tensor.IndexSelect(x, 1, []int{0, 3}) }, []string{"tensor: IndexSelect: index 3 out of range for dimension 1 of (2,3)"}},
		{"index-select-negative", func() { tensor.IndexSelect(x, 0, []int{-1}) }, []string{"tensor: IndexSelect: index -1 out of range"}},
		{"gather-count", func() { tensor.Gather(x, 1, []int{0, 1, 2}, 2, 2) }, []string{"tensor: Gather: 3 indices for shape (2,2)"}},
		{"gather-ndim", func() { tensor.Gather(x, 1, []int{0, 1}, 2) }, []string{"tensor: Gather: index shape (2) and input (2,3) differ in dimensions"}},
		{"gather-larger", func() { tensor.Gather(x, 1, []int{0, 0, 0}, 3, 1) }, []string{"tensor: Gather: index shape (3,1) is larger than input (2,3) outside dimension 1"}},
		{"gather-range", func() { tensor.Gather(x, 0, []int{0, 2}, 1, 2) }, []string{"tensor: Gather: index 2 out of range for dimension 0 of (2,3)"}},
		{"embedding-weight", func() { tensor.Embedding(tensor.Zeros(4), []int{0}) }, []string{"tensor: Embedding: weight has shape (4), want (V,D)"}},
		{"embedding-id", func() { tensor.Embedding(x, []int{0, 2}) }, []string{"tensor: Embedding: id 2 out of range for 2 rows"}},
		{"embedding-shape", func() { tensor.Embedding(x, []int{0, 1, 1}, 2, 2) }, []string{"tensor: Embedding: 3 ids for shape (2,2)"}},
		{"where-mask", func() { tensor.Where([]bool{true}, x, x) }, []string{"tensor: Where: mask has 1 elements for shape (2,3) (need 6)"}},
		{"where-broadcast", func() { tensor.Where(make([]bool, 6), x, tensor.Zeros(2)) }, []string{"tensor: Where: shapes (2,3) and (2) do not broadcast"}},
		{"masked-fill-mask", func() { tensor.MaskedFill(x, make([]bool, 3), 0) }, []string{"tensor: MaskedFill: mask has 3 elements for shape (2,3) (need 6)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { panicsWith(t, tt.f, tt.want...) })
	}
}

// TestIndexKeepsForwardIndices checks that changing the caller's index
// slice after the forward pass does not change the backward pass.
func TestIndexKeepsForwardIndices(t *testing.T) {
	x := tensor.Zeros(3).SetRequiresGrad(true)
	idx := []int{0, 0}
	mask := []bool{true, false, false}
	y := tensor.Add(tensor.IndexSelect(x, 0, idx), tensor.Gather(x, 0, idx, 2))
	z := tensor.MaskedFill(x, mask, 1)
	idx[0], idx[1], mask[0] = 2, 2, false
	tensor.Add(tensor.Sum(y), tensor.Sum(z)).Backward()
	if got, want := x.Grad().Values(), []float32{4, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("grad %v, want %v", got, want)
	}
}
