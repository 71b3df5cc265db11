package tensor_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestPackedWeight checks that the products of a packed weight have the
// bits of Linear, LinearQuickGELU and LinearAdd on inference inputs, that
// a weight whose rows are a multiple of 32 is packed in its own storage,
// and that Unpack restores it bit for bit.
func TestPackedWeight(t *testing.T) {
	for _, tc := range []struct {
		out, in int
		xShape  []int
		inPlace bool
	}{
		{64, 37, []int{5, 37}, true},
		{96, 16, []int{2, 3, 16}, true},
		{40, 24, []int{7, 24}, false}, // rows not a multiple of 32
		{1, 8, []int{1, 8}, false},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.out, tc.in), func(t *testing.T) {
			w := randn(1, tc.out, tc.in).SetRequiresGrad(true)
			bias := randn(2, tc.out).SetRequiresGrad(true)
			x := randn(3, tc.xShape...).Inference()
			res := randn(4, append(tc.xShape[:len(tc.xShape)-1:len(tc.xShape)-1], tc.out)...)
			orig := w.Values()
			want := []*tensor.Tensor{
				tensor.Linear(x, w, bias), tensor.LinearQuickGELU(x, w, nil), tensor.LinearAdd(x, w, bias, res),
			}

			p := tensor.PackWeight(w)
			if !slices.Equal(p.Shape(), []int{tc.out, tc.in}) {
				t.Fatalf("Shape() = %v", p.Shape())
			}
			if moved := !sameBits(w.Data(), orig); moved != tc.inPlace {
				t.Fatalf("weight storage rewritten: %v, want %v", moved, tc.inPlace)
			}
			got := []*tensor.Tensor{p.Linear(x, bias), p.LinearQuickGELU(x, nil), p.LinearAdd(x, bias, res)}
			for i := range want {
				if !slices.Equal(got[i].Shape(), want[i].Shape()) || !sameBits(got[i].Values(), want[i].Values()) {
					t.Errorf("product %d differs from the unpacked one", i)
				}
				if !got[i].IsInference() {
					t.Errorf("product %d of an inference input is not an inference tensor", i)
				}
			}
			if back := p.Unpack(); back != w || !sameBits(w.Data(), orig) {
				t.Fatalf("Unpack did not restore the weight")
			}
		})
	}
}

// TestPackedWeightRefusesGradients checks that a product that would record
// a graph panics with a message that says why.
func TestPackedWeightRefusesGradients(t *testing.T) {
	w := randn(1, 32, 8)
	p := tensor.PackWeight(w)
	defer p.Unpack()
	x := randn(2, 4, 8).SetRequiresGrad(true)
	for name, f := range map[string]func(){
		"Linear":          func() { p.Linear(x, nil) },
		"LinearQuickGELU": func() { p.LinearQuickGELU(x, nil) },
		"LinearAdd":       func() { p.LinearAdd(x, nil, randn(3, 4, 32)) },
		"nil residual":    func() { p.LinearAdd(x.Inference(), nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := fmt.Sprint(recover())
				if !strings.Contains(r, "no gradient") && !strings.Contains(r, "nil residual") {
					t.Fatalf("panic %q, want one about gradients or the residual", r)
				}
			}()
			f()
		})
	}
	// Without gradients anywhere, a constant input is fine.
	if y := p.Linear(x.Detach(), nil); y.RequiresGrad() {
		t.Fatalf("product of constants requires gradients")
	}
}

func sameBits(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}

// TestPackedConv checks that a convolution with packed filters has the
// bits of Conv2d and Conv2dAffine on inference inputs, on one image and a batch, for
// pointwise, 3×3 and strided filters, that contiguous filters are packed
// in their own storage and others copied, and that Unpack restores them
// bit for bit.
func TestPackedConv(t *testing.T) {
	for _, tc := range []struct {
		name           string
		k, c, r        int
		xShape         []int
		stride, pad    int
		contiguous     bool
		relu, residual bool
	}{
		{"pointwise", 40, 24, 1, []int{1, 24, 14, 14}, 1, 0, true, true, true},
		{"3x3", 33, 16, 3, []int{3, 16, 9, 9}, 1, 1, true, true, false},
		{"strided", 20, 3, 7, []int{2, 3, 15, 15}, 2, 3, true, false, false},
		{"view", 24, 8, 3, []int{2, 8, 6, 6}, 1, 1, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := randn(1, tc.k, tc.c, tc.r, tc.r).SetRequiresGrad(true)
			if !tc.contiguous {
				w = randn(1, tc.c, tc.k, tc.r, tc.r).Permute(1, 0, 2, 3)
			}
			x := randn(3, tc.xShape...).Inference()
			stride, pad := [2]int{tc.stride, tc.stride}, [2]int{tc.pad, tc.pad}
			scale, shift := randn(4, tc.k).Values(), randn(5, tc.k).Values()
			var add *tensor.Tensor
			if tc.residual {
				add = tensor.Conv2d(x, w, nil, stride, pad).Detach()
			}
			bias := randn(6, tc.k)
			orig := w.Values()
			want := tensor.Conv2dAffine(x, w, scale, shift, add, tc.relu, stride, pad)
			wantPlain := tensor.Conv2d(x, w, bias, stride, pad)

			p := tensor.PackConv(w)
			if !slices.Equal(p.Shape(), []int{tc.k, tc.c, tc.r, tc.r}) {
				t.Fatalf("Shape() = %v", p.Shape())
			}
			if moved := !sameBits(w.Values(), orig); moved != tc.contiguous {
				t.Fatalf("filter storage rewritten: %v, want %v", moved, tc.contiguous)
			}
			for i, c := range []struct{ got, want *tensor.Tensor }{
				{p.Conv2dAffine(x, scale, shift, add, tc.relu, stride, pad), want},
				{p.Conv2d(x, bias, stride, pad), wantPlain},
			} {
				if !slices.Equal(c.got.Shape(), c.want.Shape()) || !sameBits(c.got.Values(), c.want.Values()) {
					t.Errorf("output %d differs from the unpacked convolution's", i)
				}
				if !c.got.IsInference() {
					t.Errorf("output %d of an inference input is not an inference tensor", i)
				}
			}
			if back := p.Unpack(); back != w || !sameBits(w.Values(), orig) {
				t.Fatalf("Unpack did not restore the filters")
			}
		})
	}
}

// TestPackedConvRefusesGradients checks that a convolution that would
// record a graph panics with a message that says why, and that filters of
// the wrong rank are refused.
func TestPackedConvRefusesGradients(t *testing.T) {
	p := tensor.PackConv(randn(1, 4, 3, 3, 3))
	defer p.Unpack()
	x := randn(2, 1, 3, 5, 5).SetRequiresGrad(true)
	one := []float32{1, 1, 1, 1}
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"gradient", "no gradient", func() { p.Conv2dAffine(x, one, one, nil, false, [2]int{1, 1}, [2]int{1, 1}) }},
		{"Conv2d gradient", "no gradient", func() { p.Conv2d(x, nil, [2]int{1, 1}, [2]int{1, 1}) }},
		{"rank", "want (K, C, R, S)", func() { tensor.PackConv(randn(1, 4, 3)) }},
		{"input", "do not match", func() {
			p.Conv2dAffine(randn(3, 1, 2, 5, 5).Inference(), one, one, nil, false, [2]int{1, 1}, [2]int{1, 1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := fmt.Sprint(recover()); !strings.Contains(r, tc.want) {
					t.Fatalf("panic %q, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}
