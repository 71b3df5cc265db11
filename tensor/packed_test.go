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
