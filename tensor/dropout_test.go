package tensor_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

func TestDropoutMask(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 5000
	}
	x := uniformT(1, 0.5, 1.5, n)
	xv := x.Values()
	for _, p := range []float32{0.1, 0.5, 0.9} {
		t.Run(fmt.Sprintf("p=%v", p), func(t *testing.T) {
			got := tensor.Dropout(x, p, tensor.NewRNG(7), true).Values()
			scale := 1 / (1 - p)
			kept := 0
			for i, v := range got {
				switch v {
				case 0:
				case xv[i] * scale:
					kept++
				default:
					t.Fatalf("p=%v: element %d is %v, want 0 or %v", p, i, v, xv[i]*scale)
				}
			}
			// The kept fraction is binomial: allow five standard deviations.
			ratio, want := float64(kept)/float64(n), float64(1-p)
			if sd := math.Sqrt(want * (1 - want) / float64(n)); math.Abs(ratio-want) > 5*sd {
				t.Errorf("p=%v: kept %.4f of the elements, want %.4f ± %.4f", p, ratio, want, 5*sd)
			}
		})
	}
}

func TestDropoutDeterministic(t *testing.T) {
	x := randn(1, 8, 16)
	a := tensor.Dropout(x, 0.5, tensor.NewRNG(3), true).Values()
	b := tensor.Dropout(x, 0.5, tensor.NewRNG(3), true).Values()
	c := tensor.Dropout(x, 0.5, tensor.NewRNG(4), true).Values()
	if !slices.Equal(a, b) {
		t.Errorf("equal seeds gave different masks")
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 3 and 4 gave the same mask")
	}
	// A transposed view is masked in its own row-major order.
	v := tensor.Dropout(x.T(), 0.5, tensor.NewRNG(3), true)
	tensortest.AssertClose(t, v, tensor.Dropout(x.T().Contiguous(), 0.5, tensor.NewRNG(3), true), 0, 0)
}

func TestDropoutIdentity(t *testing.T) {
	x := randn(1, 3, 4)
	rng := tensor.NewRNG(1)
	tests := []struct {
		name  string
		p     float32
		train bool
	}{
		{"eval", 0.5, false},
		{"p-zero", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tensor.Dropout(x, tt.p, rng, tt.train); got != x {
				t.Errorf("got a new tensor, want x itself")
			}
		})
	}
	if got, want := rng.Uint64(), tensor.NewRNG(1).Uint64(); got != want {
		t.Errorf("identity dropout consumed random numbers")
	}
}

func TestDropoutGrad(t *testing.T) {
	// A fresh source per call makes f deterministic, as CheckGrad needs.
	tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
		return tensor.Dropout(in[0].T(), 0.4, tensor.NewRNG(9), true)
	}, randn(1, 3, 5))
}

func TestDropoutPanics(t *testing.T) {
	x := tensor.Zeros(2)
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"p-one", func() { tensor.Dropout(x, 1, tensor.NewRNG(1), true) }, "tensor: Dropout: probability 1 outside [0, 1)"},
		{"p-negative-eval", func() { tensor.Dropout(x, -0.1, nil, false) }, "tensor: Dropout: probability -0.1 outside [0, 1)"},
		{"p-nan", func() { tensor.Dropout(x, float32(math.NaN()), nil, true) }, "tensor: Dropout: probability NaN outside [0, 1)"},
		{"nil-rng", func() { tensor.Dropout(x, 0.5, nil, true) }, "tensor: Dropout: nil random source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { panicsWith(t, tt.f, tt.want) })
	}
}
