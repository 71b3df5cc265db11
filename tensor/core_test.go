package tensor_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

func randn(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(tensor.NewRNG(seed), shape...)
}

func TestViewsShareStorage(t *testing.T) {
	x := tensor.Arange(6).Reshape(2, 3)
	tests := []struct {
		name  string
		got   *tensor.Tensor
		shape []int
		want  []float32
	}{
		{"transpose", x.T(), []int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"narrow", x.Narrow(1, 1, 2), []int{2, 2}, []float32{1, 2, 4, 5}},
		{"select", x.Select(0, 1), []int{3}, []float32{3, 4, 5}},
		{"unsqueeze", x.Unsqueeze(1), []int{2, 1, 3}, []float32{0, 1, 2, 3, 4, 5}},
		{"expand", x.Narrow(0, 0, 1).Expand(3, 3), []int{3, 3}, []float32{0, 1, 2, 0, 1, 2, 0, 1, 2}},
		{"permute-reshape", x.T().Reshape(6), []int{6}, []float32{0, 3, 1, 4, 2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fmtShape(tt.got.Shape()) != fmtShape(tt.shape) {
				t.Fatalf("shape %v, want %v", tt.got.Shape(), tt.shape)
			}
			got := tt.got.Values()
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("values %v, want %v", got, tt.want)
				}
			}
		})
	}
	// A view writes through to its base.
	x.T().Contiguous() // copy: must not alias
	v := x.Narrow(1, 1, 1)
	if v.IsContiguous() {
		t.Errorf("narrowed column reported contiguous")
	}
	x.Data()[4] = 40
	if got := v.At(1, 0); got != 40 {
		t.Errorf("view did not see write: got %v", got)
	}
}

func fmtShape(s []int) string {
	b := []byte{}
	for _, v := range s {
		b = append(b, byte('0'+v%10), ',')
	}
	return string(b)
}

func TestMatMulMatchesNaive(t *testing.T) {
	tests := []struct {
		name string
		a, b *tensor.Tensor
	}{
		{"2d", randn(1, 5, 7), randn(2, 7, 3)},
		{"a-transposed-view", randn(3, 7, 5).T(), randn(4, 7, 3)},
		{"b-transposed-view", randn(5, 5, 7), randn(6, 3, 7).T()},
		{"batched", randn(7, 2, 3, 4, 5), randn(8, 2, 3, 5, 6)},
		{"batch-broadcast", randn(9, 2, 1, 4, 5), randn(10, 3, 5, 6)},
		{"shared-weight", randn(11, 2, 3, 4, 5), randn(12, 5, 6)},
		{"narrowed", randn(13, 4, 9).Narrow(1, 2, 5), randn(14, 5, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tensor.MatMul(tt.a, tt.b)
			tensortest.AssertClose(t, got, naiveMatMul(tt.a, tt.b), 1e-5, 1e-5)
		})
	}
}

// naiveMatMul multiplies the last two dimensions with explicit loops over
// the broadcast batch.
func naiveMatMul(a, b *tensor.Tensor) *tensor.Tensor {
	for a.NDim() < b.NDim() {
		a = a.Unsqueeze(0)
	}
	for b.NDim() < a.NDim() {
		b = b.Unsqueeze(0)
	}
	nd := a.NDim()
	batch := make([]int, nd-2)
	for i := range batch {
		batch[i] = max(a.Dim(i), b.Dim(i))
	}
	a = a.Expand(append(append([]int{}, batch...), a.Dim(-2), a.Dim(-1))...).Contiguous()
	b = b.Expand(append(append([]int{}, batch...), b.Dim(-2), b.Dim(-1))...).Contiguous()
	m, k, n := a.Dim(-2), a.Dim(-1), b.Dim(-1)
	nb := a.Numel() / (m * k)
	out := make([]float32, nb*m*n)
	ad, bd := a.Data(), b.Data()
	for z := 0; z < nb; z++ {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += float64(ad[z*m*k+i*k+p]) * float64(bd[z*k*n+p*n+j])
				}
				out[z*m*n+i*n+j] = float32(s)
			}
		}
	}
	return tensor.New(out, append(batch, m, n)...)
}

func TestBackwardAccumulatesAndReleases(t *testing.T) {
	x := tensor.FromFloat64([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	for range 2 {
		y := tensor.Sum(tensor.Mul(x, x)) // d/dx = 2x
		y.Backward()
	}
	want := []float32{4, 8, 12} // two calls accumulate
	for i, g := range x.Grad().Values() {
		if g != want[i] {
			t.Fatalf("grad %v, want %v", x.Grad().Values(), want)
		}
	}
	x.ZeroGrad()
	if y := tensor.Sum(tensor.Mul(x.Inference(), x)); y.RequiresGrad() || !y.IsInference() {
		t.Errorf("output computed from an inference tensor: requires grad %v, inference %v; want false, true", y.RequiresGrad(), y.IsInference())
	}
	d := tensor.Sum(tensor.Mul(x.Detach(), x))
	d.Backward()
	for i, g := range x.Grad().Values() { // only the non-detached factor counts
		if g != float32(i+1) {
			t.Fatalf("grad through detach %v, want [1 2 3]", x.Grad().Values())
		}
	}
}

func TestGradCore(t *testing.T) {
	type op = func(in []*tensor.Tensor) *tensor.Tensor
	tests := []struct {
		name   string
		f      op
		inputs []*tensor.Tensor
	}{
		{"add", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Add(in[0], in[1]) }, []*tensor.Tensor{randn(1, 3, 4), randn(2, 3, 4)}},
		{"add-broadcast", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Add(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 3, 1)}},
		{"add-relu", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AddReLU(in[0], in[1]) }, []*tensor.Tensor{randn(1, 3, 4), randn(2, 3, 4)}},
		{"add-relu-self", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AddReLU(in[0], in[0]) }, []*tensor.Tensor{randn(1, 3, 4)}},
		{"add-relu-broadcast", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.AddReLU(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 3, 1)}},
		{"sub-broadcast", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Sub(in[0], in[1]) }, []*tensor.Tensor{randn(1, 4), randn(2, 3, 4)}},
		{"mul-broadcast", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Mul(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 1, 4), randn(2, 3, 1)}},
		{"div", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Div(in[0], tensor.Add(tensor.Mul(in[1], in[1]), tensor.Scalar(1)))
		}, []*tensor.Tensor{randn(1, 3, 4), randn(2, 4)}},
		{"sum", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Sum(in[0]) }, []*tensor.Tensor{randn(1, 3, 4)}},
		{"mean", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Mean(in[0]) }, []*tensor.Tensor{randn(1, 3, 4)}},
		{"matmul", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0], in[1]) }, []*tensor.Tensor{randn(1, 3, 4), randn(2, 4, 5)}},
		{"matmul-transposed", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0].T(), in[1].T()) }, []*tensor.Tensor{randn(1, 4, 3), randn(2, 5, 4)}},
		{"matmul-batched", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 2, 4, 5)}},
		{"matmul-batch-broadcast", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 1, 3, 4), randn(2, 3, 4, 2)}},
		{"matmul-shared-weight", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0], in[1]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 4, 5)}},
		{"linear", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Linear(in[0], in[1], in[2]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 5, 4), randn(3, 5)}},
		{"linear-nobias-view", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Linear(in[0].T(), in[1], nil) }, []*tensor.Tensor{randn(1, 4, 3), randn(2, 5, 4)}},
		{"linear-quickgelu", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LinearQuickGELU(in[0], in[1], in[2]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 5, 4), randn(3, 5)}},
		{"linear-quickgelu-nobias-twice", func(in []*tensor.Tensor) *tensor.Tensor {
			h := tensor.LinearQuickGELU(in[0].T(), in[1], nil)
			return tensor.Add(h, tensor.Mul(h, h))
		}, []*tensor.Tensor{randn(1, 4, 3), randn(2, 5, 4)}},
		{"linear-add", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LinearAdd(in[0], in[1], in[2], in[3]) }, []*tensor.Tensor{randn(1, 2, 3, 4), randn(2, 5, 4), randn(3, 5), randn(4, 2, 3, 5)}},
		{"linear-add-self", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LinearAdd(in[0], in[1], nil, in[0]) }, []*tensor.Tensor{randn(1, 3, 4), randn(2, 4, 4)}},
		{"linear-add-self-view", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.LinearAdd(in[0], in[1], nil, in[0].T().T())
		}, []*tensor.Tensor{randn(1, 3, 4), randn(2, 4, 4)}},
		{"matmul-many-heads", func(in []*tensor.Tensor) *tensor.Tensor { return tensor.MatMul(in[0], in[1].Transpose(-1, -2)) }, []*tensor.Tensor{randn(1, 3, 4, 5, 2), randn(2, 3, 4, 6, 2)}},
		{"reshape-permute", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Mul(in[0].Permute(2, 0, 1).Reshape(4, 6), in[0].Reshape(4, 6))
		}, []*tensor.Tensor{randn(1, 2, 3, 4)}},
		{"narrow-select", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Add(in[0].Narrow(1, 1, 2), in[0].Select(1, 0).Unsqueeze(1))
		}, []*tensor.Tensor{randn(1, 3, 4, 2)}},
		{"expand-squeeze", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Mul(in[0].Expand(2, 3, 4), in[1].Unsqueeze(0).Squeeze(0))
		}, []*tensor.Tensor{randn(1, 3, 1), randn(2, 3, 4)}},
		{"transpose-contiguous", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Mul(in[0].Transpose(0, 1).Contiguous(), in[0].T())
		}, []*tensor.Tensor{randn(1, 3, 3)}},
		// Views and same-shape inputs take over the output's gradient
		// buffer instead of copying it; these share one input several
		// ways, so a buffer handed to two tensors would corrupt a gradient.
		{"add-self", func(in []*tensor.Tensor) *tensor.Tensor {
			return tensor.Mul(tensor.Add(in[0], in[0]), in[0])
		}, []*tensor.Tensor{randn(1, 3, 4)}},
		{"add-views-of-one", func(in []*tensor.Tensor) *tensor.Tensor {
			s := tensor.Add(in[0].Reshape(12), in[0].Reshape(3, 4).Reshape(12))
			return tensor.Mul(tensor.Sub(s, in[0].Reshape(12)), in[1])
		}, []*tensor.Tensor{randn(1, 3, 4), randn(2, 12)}},
		{"residual-chain", func(in []*tensor.Tensor) *tensor.Tensor {
			h := tensor.Add(in[0], tensor.Softmax(in[0], -1))
			h = tensor.Add(h, tensor.Linear(h, in[1], nil).Unsqueeze(0).Squeeze(0))
			return tensor.Add(tensor.LogSoftmax(h, 0), h)
		}, []*tensor.Tensor{randn(1, 3, 4), randn(2, 4, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensortest.CheckGrad(t, tt.f, tt.inputs...)
		})
	}
}

// TestAddReLU checks the fused operation against ReLU(Add(…)) bit for bit,
// outputs and gradients.
func TestAddReLU(t *testing.T) {
	run := func(fused bool) [][]float32 {
		a, b := randn(1, 4, 8, 5, 5).SetRequiresGrad(true), randn(2, 4, 8, 5, 5).SetRequiresGrad(true)
		var y *tensor.Tensor
		if fused {
			y = tensor.AddReLU(a, b)
		} else {
			y = tensor.ReLU(tensor.Add(a, b))
		}
		tensor.Sum(tensor.Mul(y, randn(3, y.Shape()...))).Backward()
		return [][]float32{y.Values(), a.Grad().Values(), b.Grad().Values()}
	}
	assertSameBits(t, []string{"output", "da", "db"}, run(true), run(false))
}

// TestLinearQuickGELU checks the fused operation against
// QuickGELU(Linear(…)) bit for bit, outputs and gradients, recording and
// from an inference input, at a CLIP MLP's shape and at one with ragged tiles.
func TestLinearQuickGELU(t *testing.T) {
	for _, sh := range [][3]int{{2 * 197, 768, 3072}, {7, 13, 37}} {
		m, in, out := sh[0], sh[1], sh[2]
		inputs := func() []*tensor.Tensor {
			return []*tensor.Tensor{randn(1, m, in), tensor.MulScalar(randn(2, out, in), 0.05), randn(3, out)}
		}
		checkFused(t, []string{"dx", "dw", "db"}, inputs,
			func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LinearQuickGELU(in[0], in[1], in[2]) },
			func(in []*tensor.Tensor) *tensor.Tensor { return tensor.QuickGELU(tensor.Linear(in[0], in[1], in[2])) })
	}
}

// TestLinearAdd checks the fused operation against Add(residual, Linear(…))
// bit for bit, outputs and gradients, recording and from an inference input, at a
// ViT-B's shape and at one with ragged tiles.
func TestLinearAdd(t *testing.T) {
	for _, sh := range [][3]int{{2 * 197, 3072, 768}, {7, 37, 13}} {
		m, in, out := sh[0], sh[1], sh[2]
		inputs := func() []*tensor.Tensor {
			return []*tensor.Tensor{randn(1, m, in), tensor.MulScalar(randn(2, out, in), 0.05), randn(3, out), randn(5, m, out)}
		}
		checkFused(t, []string{"dx", "dw", "db", "dresidual"}, inputs,
			func(in []*tensor.Tensor) *tensor.Tensor { return tensor.LinearAdd(in[0], in[1], in[2], in[3]) },
			func(in []*tensor.Tensor) *tensor.Tensor { return tensor.Add(in[3], tensor.Linear(in[0], in[1], in[2])) })
	}
	for name, f := range map[string]func(){
		"nil residual": func() { tensor.LinearAdd(randn(1, 2, 3), randn(2, 4, 3), nil, nil) },
		"wrong shape":  func() { tensor.LinearAdd(randn(1, 2, 3), randn(2, 4, 3), nil, randn(3, 2, 3)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		})
	}
}

// checkFused compares fused with composed on fresh inputs bit for bit:
// the output and the gradient of every input (named grads), and the output
// computed from an inference first input while the others require
// gradients.
func checkFused(t *testing.T, grads []string, inputs func() []*tensor.Tensor, fused, composed func(in []*tensor.Tensor) *tensor.Tensor) {
	t.Helper()
	run := func(f func(in []*tensor.Tensor) *tensor.Tensor, grad bool) [][]float32 {
		in := inputs()
		for _, p := range in {
			p.SetRequiresGrad(true)
		}
		if !grad {
			in[0] = in[0].Inference()
			y := f(in)
			if y.RequiresGrad() || !y.IsInference() {
				t.Fatalf("output from an inference input: requires grad %v, inference %v", y.RequiresGrad(), y.IsInference())
			}
			return [][]float32{y.Values()}
		}
		y := f(in)
		tensor.Sum(tensor.Mul(y, randn(4, y.Shape()...))).Backward()
		out := [][]float32{y.Values()}
		for _, p := range in {
			out = append(out, p.Grad().Values())
		}
		return out
	}
	assertSameBits(t, append([]string{"output"}, grads...), run(fused, true), run(composed, true))
	assertSameBits(t, []string{"output without the graph"}, run(fused, false), run(composed, false))
}

// assertSameBits fails t unless got[i] and want[i], named names[i], hold
// the same bits element by element (got fused, want composed).
func assertSameBits(t *testing.T, names []string, got, want [][]float32) {
	t.Helper()
	for i, name := range names {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("%s[%d] = %v fused, %v composed", name, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestRank100000Messages checks that messages about a tensor of rank
// 100000 stay short: the shape is cut in the middle and its rank given.
func TestRank100000Messages(t *testing.T) {
	shape := slices.Repeat([]int{1}, 100000)
	shape[len(shape)-1] = 2
	x := tensor.Zeros(shape...)
	const want = "(1,1,1,1,1,1,…,1,2) (rank 100000)"
	if s := x.String(); !strings.Contains(s, want) || len(s) > 200 {
		t.Errorf("String() = %.300q (%d bytes), want at most 200 containing %q", s, len(s), want)
	}
	for name, f := range map[string]func(){
		"New":     func() { tensor.New([]float32{1}, shape...) },
		"Reshape": func() { x.Reshape(3, -1) },
		"Squeeze": func() { x.Squeeze(-1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, want) || len(msg) > 200 {
					t.Errorf("panic %.300q (%d bytes), want at most 200 containing %q", msg, len(msg), want)
				}
			}()
			f()
		})
	}
}

// TestContiguousPermuted checks the copies of permuted views, the
// transposes among them tile by tile, against At: sizes that leave partial
// tiles, a batch dimension, a transpose of two inner dimensions of four,
// and permutations that are no transpose of the last dimension.
func TestContiguousPermuted(t *testing.T) {
	tests := []struct {
		shape []int
		perm  []int
	}{
		{[]int{37, 21}, []int{1, 0}},
		{[]int{3, 21, 37}, []int{0, 2, 1}},
		{[]int{2, 2048, 49}, []int{0, 2, 1}},
		{[]int{2, 3, 17, 33}, []int{0, 3, 1, 2}},
		{[]int{2, 5, 18, 19}, []int{0, 1, 3, 2}},
		{[]int{4, 5, 6}, []int{2, 1, 0}},
		{[]int{4, 5, 6}, []int{1, 0, 2}},
		{[]int{1, 16, 16}, []int{0, 2, 1}},
		{[]int{7, 1}, []int{1, 0}},
	}
	for _, tt := range tests {
		x := randn(9, tt.shape...)
		v := x.Permute(tt.perm...)
		got := v.Contiguous()
		shape := v.Shape()
		idx := make([]int, len(shape))
		for i, g := range got.Values() {
			rem := i
			for d := len(shape) - 1; d >= 0; d-- {
				idx[d] = rem % shape[d]
				rem /= shape[d]
			}
			if want := v.At(idx...); g != want {
				t.Fatalf("%v permuted %v: element %v = %v, want %v", tt.shape, tt.perm, idx, g, want)
			}
		}
	}
}
