package uda

import (
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

func TestHeadStateDict(t *testing.T) {
	const d, c = 6, 4
	h := NewHead(tensor.NewRNG(1), d, c)
	want := map[string][]int{
		"0.weight": {d}, "0.bias": {d}, "0.running_mean": {d}, "0.running_var": {d}, "0.num_batches_tracked": {},
		"1.weight": {d}, "1.bias": {d},
		"2.weight": {c, d},
	}
	sd := nn.StateDict(h)
	if len(sd) != len(want) {
		t.Errorf("state dict has %d entries, want %d", len(sd), len(want))
	}
	for name, shape := range want {
		got, ok := sd[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if !slices.Equal(got.Shape(), shape) {
			t.Errorf("%s: shape %v, want %v", name, got.Shape(), shape)
		}
	}
	var trainable []string
	for _, p := range nn.NamedParams(h) {
		if p.Tensor.RequiresGrad() {
			trainable = append(trainable, p.Name)
		}
	}
	if w := []string{"0.weight", "1.weight", "1.bias", "2.weight"}; !slices.Equal(trainable, w) {
		t.Errorf("trainable parameters %v, want %v", trainable, w)
	}
	if got := len(h.Trainable()); got != 4 {
		t.Errorf("Trainable returns %d tensors, want 4", got)
	}
}

func TestHeadInit(t *testing.T) {
	const d, c = 512, 65
	h := NewHead(tensor.NewRNG(7), d, c)
	constant := func(name string, x *tensor.Tensor, v float32) {
		for i, got := range x.Values() {
			if got != v {
				t.Errorf("%s[%d] = %g, want %g", name, i, got, v)
				return
			}
		}
	}
	constant("BN weight", h.BN.Weight, 1)
	constant("BN bias", h.BN.Bias, 0)
	constant("LN weight", h.LN.Weight, 1)
	constant("LN bias", h.LN.Bias, 0)
	if h.LN.Eps != 1e-6 {
		t.Errorf("LayerNorm eps %g, want 1e-6", h.LN.Eps)
	}
	if h.FC.Bias != nil {
		t.Error("Linear has a bias")
	}
	var s, s2 float64
	w := h.FC.Weight.Values()
	for _, v := range w {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(w))
	mean, std := s/n, math.Sqrt(s2/n-(s/n)*(s/n))
	// 33 280 draws: the sample std lies within 2 % of σ (5 standard
	// errors) and the mean within 5σ/√n of 0.
	if math.Abs(std-0.001) > 2e-5 || math.Abs(mean) > 5*0.001/math.Sqrt(n) {
		t.Errorf("Linear weights: mean %.3g, std %.5g; want N(0, 0.001²)", mean, std)
	}
	again := NewHead(tensor.NewRNG(7), d, c)
	if !slices.Equal(again.FC.Weight.Values(), w) {
		t.Error("the same seed gave different weights")
	}
	if other := NewHead(tensor.NewRNG(8), d, c); slices.Equal(other.FC.Weight.Values(), w) {
		t.Error("different seeds gave the same weights")
	}
}

// headRef computes the head by hand: BN with the given per-feature mean
// and variance (weight 1, bias 0), LayerNorm (weight 1, bias 0, eps 1e-6)
// and the Linear layer.
func headRef(x [][]float64, mean, variance []float64, w [][]float64) [][]float64 {
	var out [][]float64
	for _, row := range x {
		d := len(row)
		y := make([]float64, d)
		var mu float64
		for j, v := range row {
			y[j] = (v - mean[j]) / math.Sqrt(variance[j]+1e-5)
			mu += y[j] / float64(d)
		}
		var vr float64
		for _, v := range y {
			vr += (v - mu) * (v - mu) / float64(d)
		}
		for j := range y {
			y[j] = (y[j] - mu) / math.Sqrt(vr+1e-6)
		}
		o := make([]float64, len(w))
		for k, wk := range w {
			for j, v := range y {
				o[k] += wk[j] * v
			}
		}
		out = append(out, o)
	}
	return out
}

func TestHeadForwardModes(t *testing.T) {
	x := [][]float64{{1, 2, 0.5}, {3, -1, 0}, {2, 0, 4}, {-1, 1, 1}}
	w := [][]float64{{0.5, -1, 2}, {1, 1, 1}}
	h := NewHead(tensor.NewRNG(1), 3, 2)
	copy(h.FC.Weight.Data(), []float32{0.5, -1, 2, 1, 1, 1})
	xt := tensor.New(flat(x), 4, 3)

	// Batch statistics: mean and biased variance per feature.
	n := float64(len(x))
	mean, biased, unbiased := make([]float64, 3), make([]float64, 3), make([]float64, 3)
	for j := range 3 {
		for _, row := range x {
			mean[j] += row[j] / n
		}
		for _, row := range x {
			biased[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / n
		}
		unbiased[j] = biased[j] * n / (n - 1)
	}

	t.Run("training", func(t *testing.T) {
		nn.SetTraining(h, true)
		got := h.Forward(xt)
		want := tensor.New(flat(headRef(x, mean, biased, w)), 4, 2)
		tensortest.AssertClose(t, got, want, 1e-5, 1e-5)
		// Running statistics move by momentum 0.1 from (0, 1).
		for j := range 3 {
			if m, v := h.BN.RunningMean.At(j), h.BN.RunningVar.At(j); math.Abs(float64(m)-0.1*mean[j]) > 1e-6 || math.Abs(float64(v)-(0.9+0.1*unbiased[j])) > 1e-6 {
				t.Errorf("feature %d: running mean %g, var %g; want %g, %g", j, m, v, 0.1*mean[j], 0.9+0.1*unbiased[j])
			}
		}
	})
	t.Run("evaluation", func(t *testing.T) {
		nn.SetTraining(h, false)
		rm, rv := make([]float64, 3), make([]float64, 3)
		for j := range 3 {
			rm[j], rv[j] = float64(h.BN.RunningMean.At(j)), float64(h.BN.RunningVar.At(j))
		}
		got := h.Forward(xt)
		want := tensor.New(flat(headRef(x, rm, rv, w)), 4, 2)
		tensortest.AssertClose(t, got, want, 1e-5, 1e-5)
		// Evaluation does not touch the running statistics, and each
		// sample's output does not depend on the rest of the batch.
		if got := float64(h.BN.RunningMean.At(0)); got != rm[0] {
			t.Errorf("running mean changed in evaluation: %g, was %g", got, rm[0])
		}
		one := h.Forward(tensor.New(flat(x[:1]), 1, 3))
		tensortest.AssertClose(t, one, got.Narrow(0, 0, 1), 1e-6, 0)
	})
}

func flat(rows [][]float64) []float32 {
	var out []float32
	for _, r := range rows {
		for _, v := range r {
			out = append(out, float32(v))
		}
	}
	return out
}

func TestHeadGradients(t *testing.T) {
	h := NewHead(tensor.NewRNG(3), 4, 3)
	// Larger weights than the N(0, 0.001²) start, so that every path has a
	// gradient well above the finite-difference noise.
	copy(h.FC.Weight.Data(), tensor.RandN(tensor.NewRNG(4), 3, 4).Values())
	nn.SetTraining(h, true)
	x := tensor.RandN(tensor.NewRNG(5), 5, 4)
	tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
		return h.Forward(in[0])
	}, x)

	nn.SetTraining(h, true)
	for _, p := range nn.Params(h) {
		p.ZeroGrad()
	}
	tensor.Sum(tensor.Square(h.Forward(x.Detach()))).Backward()
	for _, p := range nn.NamedParams(h) {
		if got := p.Tensor.Grad() != nil; got != p.Tensor.RequiresGrad() {
			t.Errorf("%s: has gradient %v, requires grad %v", p.Name, got, p.Tensor.RequiresGrad())
		}
	}
}

func TestHeadLoadKeepsBiasFrozen(t *testing.T) {
	src := NewHead(tensor.NewRNG(1), 5, 3)
	dst := NewHead(tensor.NewRNG(2), 5, 3)
	if err := nn.LoadStateDict(dst, nn.StateDict(src), false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dst.FC.Weight.Values(), src.FC.Weight.Values()) {
		t.Error("weights not loaded")
	}
	if dst.BN.Bias.RequiresGrad() {
		t.Error("loading unfroze the BatchNorm bias")
	}
}
