package tensor_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// poolRef pools x (N, C, H, W) in float64 by definition: max over the window
// positions inside the input, or their sum divided by the full window size
// (count_include_pad).
func poolRef(x *tensor.Tensor, kernel, stride, padding [2]int, isMax bool) *tensor.Tensor {
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	oh := (h+2*padding[0]-kernel[0])/stride[0] + 1
	ow := (w+2*padding[1]-kernel[1])/stride[1] + 1
	out := make([]float64, 0, n*c*oh*ow)
	for i := range n {
		for ch := range c {
			for oy := range oh {
				for ox := range ow {
					best, sum := math.Inf(-1), 0.0
					for dy := range kernel[0] {
						for dx := range kernel[1] {
							iy, ix := oy*stride[0]-padding[0]+dy, ox*stride[1]-padding[1]+dx
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								v := float64(x.At(i, ch, iy, ix))
								best = math.Max(best, v)
								sum += v
							}
						}
					}
					if isMax {
						out = append(out, best)
					} else {
						out = append(out, sum/float64(kernel[0]*kernel[1]))
					}
				}
			}
		}
	}
	return tensor.FromFloat64(out, n, c, oh, ow)
}

// adaptiveRef averages x (N, C, H, W) over PyTorch's adaptive windows in float64.
func adaptiveRef(x *tensor.Tensor, outH, outW int) *tensor.Tensor {
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	out := make([]float64, 0, n*c*outH*outW)
	for i := range n {
		for ch := range c {
			for oy := range outH {
				y0 := int(math.Floor(float64(oy*h) / float64(outH)))
				y1 := int(math.Ceil(float64((oy+1)*h) / float64(outH)))
				for ox := range outW {
					x0 := int(math.Floor(float64(ox*w) / float64(outW)))
					x1 := int(math.Ceil(float64((ox+1)*w) / float64(outW)))
					var s float64
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							s += float64(x.At(i, ch, iy, ix))
						}
					}
					out = append(out, s/float64((y1-y0)*(x1-x0)))
				}
			}
		}
	}
	return tensor.FromFloat64(out, n, c, outH, outW)
}

// spacedPerm returns a tensor of the given shape holding a random permutation
// of 0.1·(0, 1, …, n−1) − shift: values 0.1 apart, so that a max-pool window
// has a unique maximum and finite differences of step 0.01 do not cross ties.
func spacedPerm(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	d := t.Data()
	shift := 0.05 * float32(len(d))
	for i, p := range tensor.NewRNG(seed).Perm(len(d)) {
		d[i] = 0.1*float32(p) - shift
	}
	return t
}

// poolCases are the window settings the pooling tests run.
var poolCases = []struct {
	name                    string
	shape                   []int
	kernel, stride, padding [2]int
}{
	{"2x2-stride2", []int{1, 2, 4, 4}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}},
	{"3x3-stride2-pad1", []int{2, 1, 5, 6}, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}},
	{"3x3-stride1-pad1", []int{1, 2, 3, 4}, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1}},
	{"non-square", []int{1, 2, 5, 4}, [2]int{3, 2}, [2]int{1, 2}, [2]int{1, 0}},
	{"overlapping-floor", []int{2, 1, 5, 5}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 1}},
}

func TestPoolMatchesReference(t *testing.T) {
	for i, tt := range poolCases {
		t.Run(tt.name, func(t *testing.T) {
			x := spacedPerm(uint64(i+1), tt.shape...)
			tensortest.AssertClose(t, tensor.MaxPool2d(x, tt.kernel, tt.stride, tt.padding), poolRef(x, tt.kernel, tt.stride, tt.padding, true), 0, 0)
			tensortest.AssertClose(t, tensor.AvgPool2d(x, tt.kernel, tt.stride, tt.padding), poolRef(x, tt.kernel, tt.stride, tt.padding, false), 1e-6, 1e-5)
		})
	}
	t.Run("transposed-view", func(t *testing.T) {
		x := randn(1, 1, 2, 5, 4).Transpose(2, 3)
		k, s, p := [2]int{2, 3}, [2]int{1, 2}, [2]int{1, 1}
		tensortest.AssertClose(t, tensor.MaxPool2d(x, k, s, p), poolRef(x, k, s, p, true), 0, 0)
		tensortest.AssertClose(t, tensor.AvgPool2d(x, k, s, p), poolRef(x, k, s, p, false), 1e-6, 1e-5)
	})
	for _, sz := range [][4]int{{5, 3, 3, 2}, {4, 4, 2, 2}, {3, 7, 5, 3}, {6, 5, 1, 1}, {2, 3, 4, 5}} {
		x := randn(uint64(sz[0]*10+sz[1]), 2, 2, sz[0], sz[1])
		t.Run(fmt.Sprintf("adaptive-%dx%d-to-%dx%d", sz[0], sz[1], sz[2], sz[3]), func(t *testing.T) {
			tensortest.AssertClose(t, tensor.AdaptiveAvgPool2d(x, sz[2], sz[3]), adaptiveRef(x, sz[2], sz[3]), 1e-6, 1e-5)
		})
	}
}

func TestPoolHandComputed(t *testing.T) {
	x := tensor.Arange(16).Reshape(1, 1, 4, 4) // rows 0..3, 4..7, 8..11, 12..15
	x9 := tensor.FromFloat64([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	x5 := tensor.FromFloat64([]float64{1, 2, 3, 4, 5}, 1, 1, 1, 5)
	tests := []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"max-2x2", tensor.MaxPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}), []float64{5, 7, 13, 15}},
		{"avg-2x2", tensor.AvgPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}), []float64{2.5, 4.5, 10.5, 12.5}},
		// Padding counts in the divisor: the corner window holds 1, 2, 4, 5 and five zeros.
		{"avg-3x3-pad1-corners", tensor.AvgPool2d(x9, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}), []float64{12.0 / 9, 16.0 / 9, 24.0 / 9, 28.0 / 9}},
		// Padding never wins, even against negative values.
		{"max-pad-negative", tensor.MaxPool2d(tensor.Full(-3, 1, 1, 2, 2), [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1}), []float64{-3, -3, -3, -3, -3, -3, -3, -3, -3}},
		// Width 5 into 3: windows [0,2), [1,4), [3,5).
		{"adaptive-5-to-3", tensor.AdaptiveAvgPool2d(x5, 1, 3), []float64{1.5, 3, 4.5}},
		{"adaptive-global", tensor.AdaptiveAvgPool2d(x9, 1, 1), []float64{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.AssertClose(t, tt.got.Flatten(), tensor.FromFloat64(tt.want, len(tt.want)), 1e-6, 1e-6)
		})
	}
}

func TestMaxPoolGradientGoesToFirstMax(t *testing.T) {
	// Ties everywhere: each window's gradient goes to its first element in
	// row-major order.
	x := tensor.Ones(1, 1, 2, 4).SetRequiresGrad(true)
	tensor.Sum(tensor.MaxPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})).Backward()
	want := []float32{1, 0, 1, 0, 0, 0, 0, 0}
	got := x.Grad().Values()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("grad %v, want %v", got, want)
		}
	}
}

func TestGradPool(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	type test struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}
	var tests []test
	for i, c := range poolCases {
		k, s, p := c.kernel, c.stride, c.padding
		tests = append(tests,
			test{"max-" + c.name, func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MaxPool2d(in[0], k, s, p) }, []*tensor.Tensor{spacedPerm(uint64(i+10), c.shape...)}},
			test{"avg-" + c.name, func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AvgPool2d(in[0], k, s, p) }, []*tensor.Tensor{randn(uint64(i+20), c.shape...)}},
		)
	}
	tests = append(tests,
		test{"adaptive-5x7-to-3x4", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AdaptiveAvgPool2d(in[0], 3, 4) }, []*tensor.Tensor{randn(30, 2, 1, 5, 7)}},
		test{"adaptive-upsample", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AdaptiveAvgPool2d(in[0], 3, 5) }, []*tensor.Tensor{randn(31, 1, 2, 2, 3)}},
		test{"max-transposed-view", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.MaxPool2d(in[0].Transpose(2, 3), [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 0})
		}, []*tensor.Tensor{spacedPerm(32, 1, 2, 4, 3)}},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGradAccumulating(t, tt.f, tt.inputs...)
		})
	}
}

func TestPoolPanics(t *testing.T) {
	x := randn(1, 1, 1, 4, 4)
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"max-padding", func() { tensor.MaxPool2d(x, [2]int{2, 2}, [2]int{1, 1}, [2]int{2, 0}) }, "tensor: MaxPool2d: padding [2 0] is more than half the window [2 2]"},
		{"avg-padding", func() { tensor.AvgPool2d(x, [2]int{3, 3}, [2]int{1, 1}, [2]int{0, 2}) }, "tensor: AvgPool2d: padding [0 2] is more than half the window"},
		{"max-3d", func() { tensor.MaxPool2d(randn(2, 1, 4, 4), [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}) }, "tensor: MaxPool2d: input has shape (1,4,4)"},
		{"avg-stride-0", func() { tensor.AvgPool2d(x, [2]int{2, 2}, [2]int{0, 2}, [2]int{0, 0}) }, "tensor: AvgPool2d: bad window"},
		{"max-too-large", func() { tensor.MaxPool2d(x, [2]int{5, 2}, [2]int{1, 1}, [2]int{0, 0}) }, "tensor: MaxPool2d: window 5×2 is larger than input"},
		{"adaptive-zero", func() { tensor.AdaptiveAvgPool2d(x, 0, 2) }, "tensor: AdaptiveAvgPool2d: output size 0×2"},
		{"adaptive-2d", func() { tensor.AdaptiveAvgPool2d(randn(3, 4, 4), 1, 1) }, "tensor: AdaptiveAvgPool2d: input has shape (4,4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectPanic(t, tt.want, tt.fn) })
	}
}

// TestParallelMatchesSerial runs the operations that split channels or
// planes across threads on shapes large enough to split, and checks that the
// results and gradients equal a single-threaded run exactly.
func TestParallelMatchesSerial(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	ops := []struct {
		name string
		f    func(x *tensor.Tensor) *tensor.Tensor
	}{
		{"batchnorm-train", func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(x, nil, nil, nil, nil, true, 0.1, 1e-5)
		}},
		{"batchnorm-eval", func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.BatchNorm(x, nil, nil, tensor.Zeros(4), tensor.Ones(4), false, 0.1, 1e-5)
		}},
		{"max-pool", func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.MaxPool2d(x, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})
		}},
		{"avg-pool", func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.AvgPool2d(x, [2]int{3, 3}, [2]int{1, 1}, [2]int{1, 1})
		}},
		{"adaptive-avg-pool", func(x *tensor.Tensor) *tensor.Tensor { return tensor.AdaptiveAvgPool2d(x, 5, 7) }},
	}
	run := func(threads int, f func(x *tensor.Tensor) *tensor.Tensor) (y, dx []float32) {
		kernels.SetThreads(threads)
		x := randn(1, 2, 4, 48, 48).SetRequiresGrad(true)
		out := f(x)
		tensor.Sum(tensor.Mul(out, randn(2, out.Shape()...))).Backward()
		return out.Values(), x.Grad().Values()
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			y1, dx1 := run(1, op.f)
			y4, dx4 := run(4, op.f)
			for i := range y1 {
				if y1[i] != y4[i] {
					t.Fatalf("output %d: 4 threads %v, 1 thread %v", i, y4[i], y1[i])
				}
			}
			for i := range dx1 {
				if dx1[i] != dx4[i] {
					t.Fatalf("gradient %d: 4 threads %v, 1 thread %v", i, dx4[i], dx1[i])
				}
			}
		})
	}
}
