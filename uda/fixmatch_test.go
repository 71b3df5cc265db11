package uda

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// TestFixMatchHandComputed uses weak logits log p, so that the weak
// confidences are known, on B = 3:
//
//	sample 0: p = (0.02, 0.96, 0.02), confident (0.96 ≥ 0.95), ŷ = 1
//	sample 1: p = (0.5, 0.3, 0.2), not confident
//	sample 2: confidence exactly at the threshold: kept by the code (≥),
//	          dropped by the paper's Eq. 1 (>)
//
// and strong logits log q with q_0 = (0.25, 0.5, 0.25), so CE_0 = ln 2, and
// q_2 = (0.1, 0.1, 0.8) with ŷ_2 = 0, so CE_2 = ln 10.
func TestFixMatchHandComputed(t *testing.T) {
	weak := tensor.Log(probs([]float32{0.02, 0.96, 0.02}, []float32{0.5, 0.3, 0.2}, []float32{0.7, 0.2, 0.1}))
	strong := tensor.Log(probs([]float32{0.25, 0.5, 0.25}, []float32{0.2, 0.2, 0.6}, []float32{0.1, 0.1, 0.8}))
	// The threshold is sample 2's confidence as FixMatch computes it.
	threshold := float64(tensor.Softmax(weak, 1).At(2, 0))
	const weight = 0.5
	for _, tc := range []struct {
		name     string
		v        Variant
		thr      float64
		want     float64
		wantRate float64
	}{
		{"code keeps conf = τ", VariantCode, threshold, weight * (math.Ln2 + math.Log(10)) / 3, 2.0 / 3},
		{"paper drops conf = τ", VariantPaper, threshold, weight * math.Ln2 / 3, 1.0 / 3},
		{"τ 0.95", VariantCode, 0.95, weight * math.Ln2 / 3, 1.0 / 3},
		{"τ 0.99 keeps none, mean still over B", VariantCode, 0.99, 0, 0},
		{"τ 0 keeps all", VariantCode, 0, weight * (math.Ln2 + math.Log(5) + math.Log(10)) / 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loss, rate := FixMatch(weak, strong, tc.thr, weight, tc.v)
			scalarClose(t, "loss", loss, tc.want, 1e-6)
			if rate != tc.wantRate {
				t.Errorf("mask rate %g, want %g", rate, tc.wantRate)
			}
		})
	}
}

func TestFixMatchGradient(t *testing.T) {
	weak := tensor.MulScalar(tensor.RandN(tensor.NewRNG(1), 6, 4), 3).Contiguous()
	strong := tensor.RandN(tensor.NewRNG(2), 6, 4)
	pl := newPseudoLabels(weak, 0.7, VariantCode)
	if pl.kept == 0 || pl.kept == 6 {
		t.Fatalf("%d of 6 samples kept; want a mix", pl.kept)
	}
	tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
		l, _ := FixMatch(weak, in[0], 0.7, 0.5, VariantCode)
		return l
	}, strong)

	// The weak view gets no gradient, and masked samples none either.
	w, s := weak.Clone().SetRequiresGrad(true), strong.Clone().SetRequiresGrad(true)
	l, _ := FixMatch(w, s, 0.7, 0.5, VariantCode)
	l.Backward()
	if w.Grad() != nil {
		t.Error("the weak view received a gradient")
	}
	for i, m := range pl.mask {
		var norm float64
		for c := range 4 {
			norm += math.Abs(float64(s.Grad().At(i, c)))
		}
		if (norm != 0) != (m == 1) {
			t.Errorf("sample %d (mask %g): gradient magnitude %g", i, m, norm)
		}
	}
}
