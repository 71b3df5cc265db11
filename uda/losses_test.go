package uda

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// probs returns the rows as a (B, C) tensor.
func probs(rows ...[]float32) *tensor.Tensor {
	var data []float32
	for _, r := range rows {
		data = append(data, r...)
	}
	return tensor.New(data, len(rows), len(rows[0]))
}

func scalarClose(t *testing.T, what string, got *tensor.Tensor, want, tol float64) {
	t.Helper()
	if g := float64(got.Item()); math.Abs(g-want) > tol || math.IsNaN(g) {
		t.Errorf("%s = %.7f, want %.7f", what, g, want)
	}
}

func TestGiniHandComputed(t *testing.T) {
	p2 := probs([]float32{0.7, 0.2, 0.1}, []float32{0.2, 0.2, 0.6})
	p3 := probs([]float32{0.7, 0.2, 0.1}, []float32{0.2, 0.2, 0.6}, []float32{0.1, 0.8, 0.1})
	w3 := tensor.New([]float32{1, 0.5, 0.25}, 3)
	tests := []struct {
		name string
		f    func(p, w *tensor.Tensor) *tensor.Tensor
		p, w *tensor.Tensor
		want float64
	}{
		// S = (0.9, 0.4, 0.7).
		// row 0: 1 − (0.49/0.9 + 0.04/0.4 + 0.01/0.7) = 1 − 0.6587302 = 0.3412698
		// row 1: 1 − (0.04/0.9 + 0.04/0.4 + 0.36/0.7) = 1 − 0.6587302 = 0.3412698
		// (with two rows both summands are always equal: their difference
		// is Σ_c (p0c − p1c)(p0c + p1c)/S_c = Σ_c (p0c − p1c) = 0.)
		{"calibrated 2x3", GiniCalibrated, p2, nil, 2 * (1 - (0.49/0.9 + 0.04/0.4 + 0.01/0.7))},
		// Plain GI: (1 − 0.54 + 1 − 0.44)/2 = 0.51, not 0.6825 (no S_c, a mean).
		{"plain 2x3", Gini, p2, nil, 0.51},
		// S = (1.0, 1.2, 0.8).
		// row 0: 1 − (0.49 + 0.04/1.2 + 0.01/0.8) = 0.4641667
		// row 1: 1 − (0.04 + 0.04/1.2 + 0.36/0.8) = 0.4766667
		// row 2: 1 − (0.01 + 0.64/1.2 + 0.01/0.8) = 0.4441667
		// weighted by (1, 0.5, 0.25) and summed: 0.8135417.
		{"calibrated 3x3 weighted", GiniCalibrated, p3, w3,
			1*(1-(0.49+0.04/1.2+0.01/0.8)) + 0.5*(1-(0.04+0.04/1.2+0.36/0.8)) + 0.25*(1-(0.01+0.64/1.2+0.01/0.8))},
		// Plain: (1·0.46 + 0.5·0.56 + 0.25·0.34)/3 = 0.275.
		{"plain 3x3 weighted", Gini, p3, w3, 0.275},
		// One-hot rows on distinct classes: pure.
		{"calibrated one-hot distinct", GiniCalibrated, probs([]float32{1, 0, 0}, []float32{0, 0, 1}), nil, 0},
		// Two rows claim class 0: 1 − 1/2 each; the third row is pure; class
		// 2 has no mass at all and contributes 0 (not 0/0).
		{"calibrated one-hot shared", GiniCalibrated, probs([]float32{1, 0, 0}, []float32{1, 0, 0}, []float32{0, 1, 0}), nil, 1},
		{"plain one-hot shared", Gini, probs([]float32{1, 0, 0}, []float32{1, 0, 0}, []float32{0, 1, 0}), nil, 0},
		// Uniform rows: 1 − C·(1/C²)/(B/C) = 1 − 1/B per row, B rows.
		{"calibrated uniform", GiniCalibrated, probs([]float32{0.25, 0.25, 0.25, 0.25}, []float32{0.25, 0.25, 0.25, 0.25}, []float32{0.25, 0.25, 0.25, 0.25}), nil, 3 * (1 - 1.0/3)},
		{"plain uniform", Gini, probs([]float32{0.25, 0.25, 0.25, 0.25}, []float32{0.25, 0.25, 0.25, 0.25}), nil, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scalarClose(t, "impurity", tc.f(tc.p, tc.w), tc.want, 1e-6)
		})
	}
}

// TestGiniCalibratedGradientTreatsMassAsConstant checks the gradient
// against the closed form with S_c constant, ∂/∂p[i,c] = −2·w_i·p[i,c]/S_c,
// which differs from the derivative through S_c (an extra
// Σ_j w_j·p[j,c]²/S_c² per column).
func TestGiniCalibratedGradientTreatsMassAsConstant(t *testing.T) {
	rows := [][]float32{{0.7, 0.2, 0.1}, {0.2, 0.2, 0.6}, {0.1, 0.8, 0.1}}
	w := []float32{1, 0.5, 0.25}
	mass := []float64{1.0, 1.2, 0.8}
	p := probs(rows...).SetRequiresGrad(true)
	GiniCalibrated(p, tensor.New(w, 3)).Backward()
	g := p.Grad()
	for i, row := range rows {
		for c, v := range row {
			want := -2 * float64(w[i]) * float64(v) / mass[c]
			var through float64 // the part a non-detached S_c would add
			for j := range rows {
				through += float64(w[j]) * float64(rows[j][c]*rows[j][c]) / (mass[c] * mass[c])
			}
			got := float64(g.At(i, c))
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("∂/∂p[%d,%d] = %.6f, want %.6f (with S_c differentiated it would be %.6f)", i, c, got, want, want+through)
			}
		}
	}
}

func TestGiniGradients(t *testing.T) {
	p := tensor.Softmax(tensor.RandN(tensor.NewRNG(1), 4, 3), 1).Detach().Contiguous()
	w := tensor.RandUniform(tensor.NewRNG(2), 0, 1, 4)
	mass := classMass(p) // held fixed: the objective the gradient belongs to
	t.Run("calibrated, S_c constant", func(t *testing.T) {
		tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
			return giniCalibrated(in[0], mass, w)
		}, p.Clone())
	})
	t.Run("calibrated equals its fixed-mass form", func(t *testing.T) {
		tensortest.AssertClose(t, GiniCalibrated(p, w), giniCalibrated(p, mass, w), 0, 0)
	})
	t.Run("plain", func(t *testing.T) {
		tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor { return Gini(in[0], w) }, p.Clone())
	})
	t.Run("weights get no gradient", func(t *testing.T) {
		pp, ww := p.Clone().SetRequiresGrad(true), w.Clone().SetRequiresGrad(true)
		tensor.Add(GiniCalibrated(pp, ww), Gini(pp, ww)).Backward()
		if ww.Grad() != nil {
			t.Errorf("weights received a gradient %v", ww.Grad())
		}
	})
}

// TestAlphaDirection uses p_g = (0.9, 0.1), p_h = (0.5, 0.5), where the two
// directions of the KL differ:
//
//	KL(p_g‖p_h) = 0.9·ln 1.8 + 0.1·ln 0.2 = 0.3680642 → α = 0.6920560 (code)
//	KL(p_h‖p_g) = 0.5·ln(5/9) + 0.5·ln 5 = ln(5/3)  → α = 0.6       (paper)
//
// and a second sample where the heads agree (α = 1 either way).
func TestAlphaDirection(t *testing.T) {
	logPH := tensor.Log(probs([]float32{0.5, 0.5}, []float32{0.3, 0.7}))
	logPG := tensor.Log(probs([]float32{0.9, 0.1}, []float32{0.3, 0.7}))
	for _, tc := range []struct {
		v    Variant
		want float64
	}{
		{VariantCode, math.Exp(-(0.9*math.Log(1.8) + 0.1*math.Log(0.2)))},
		{VariantPaper, 0.6},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			a := Alpha(logPH, logPG, tc.v)
			if got := float64(a.At(0)); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("α = %.7f, want %.7f", got, tc.want)
			}
			if got := a.At(1); math.Abs(float64(got)-1) > 1e-6 {
				t.Errorf("α for equal heads = %g, want 1", got)
			}
			if a.RequiresGrad() {
				t.Error("α requires a gradient; it must be detached")
			}
		})
	}
	// α is detached even when its inputs require gradients.
	zh := tensor.RandN(tensor.NewRNG(1), 2, 3).SetRequiresGrad(true)
	zg := tensor.RandN(tensor.NewRNG(2), 2, 3).SetRequiresGrad(true)
	if Alpha(tensor.LogSoftmax(zh, 1), tensor.LogSoftmax(zg, 1), VariantCode).RequiresGrad() {
		t.Error("α computed from trainable logits requires a gradient")
	}
}

func TestTeacherLogits(t *testing.T) {
	// normalise(3, 4) = (0.6, 0.8); normalise(0, −2) = (0, −1).
	feat := tensor.New([]float32{3, 4, 0, -2}, 2, 2)
	text := tensor.New([]float32{1, 0, 0, 1, 0.6, 0.8}, 3, 2)
	want := tensor.New([]float32{60, 80, 100, 0, -100, -80}, 2, 3)
	tensortest.AssertClose(t, TeacherLogits(feat, text, 100), want, 1e-4, 0)

	text = tensor.Softmax(tensor.RandN(tensor.NewRNG(2), 4, 5), 1) // any rows; TeacherLogits does not renormalise
	tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
		return TeacherLogits(in[0], text, 3)
	}, tensor.RandN(tensor.NewRNG(1), 3, 5))
}

// testLogits returns random logits for a source batch of bs and a target
// batch of bt samples over c classes, with varied confidence, and labels.
func testLogits(seed uint64, bs, bt, c int) (Logits, []int) {
	rng := tensor.NewRNG(seed)
	mk := func(b int, s float32) *tensor.Tensor {
		return tensor.MulScalar(tensor.RandN(rng, b, c), s).Contiguous()
	}
	z := Logits{
		Source: mk(bs, 2), Target: mk(bt, 3), TeacherSource: mk(bs, 4), TeacherTarget: mk(bt, 4),
		TargetStrong: mk(bt, 2), TeacherTargetStrong: mk(bt, 3),
	}
	labels := make([]int, bs)
	for i := range labels {
		labels[i] = rng.IntN(c)
	}
	return z, labels
}

func (z Logits) list() []*tensor.Tensor {
	return []*tensor.Tensor{z.Source, z.Target, z.TeacherSource, z.TeacherTarget, z.TargetStrong, z.TeacherTargetStrong}
}

func logitsFrom(in []*tensor.Tensor) Logits {
	return Logits{Source: in[0], Target: in[1], TeacherSource: in[2], TeacherTarget: in[3], TargetStrong: in[4], TeacherTargetStrong: in[5]}
}

// TestObjectiveGradients checks the total loss's gradient with respect to
// every logits tensor against finite differences of the same objective with
// its stop-gradient values (α, S_c, sg(p_g), pseudo-labels and masks) held
// at their values at the checked point, which is what the gradient of a
// loss with stop-gradients means.
func TestObjectiveGradients(t *testing.T) {
	for _, m := range []Method{MethodSourceOnly, MethodCMKD, MethodFixMatch, MethodCMKDFixMatch} {
		for _, v := range []Variant{VariantCode, VariantPaper} {
			t.Run(m.String()+"/"+v.String(), func(t *testing.T) {
				o := DefaultObjective(m)
				o.Variant = v
				o.FixMatchThreshold = 0.6 // keep some samples of these random logits
				// Large weights, so that every term moves the total well
				// above the finite-difference noise.
				o.Lambda1, o.Lambda2, o.Lambda3 = 2, 0.5, 1
				z, labels := testLogits(11, 3, 4, 3)
				const step = 8000
				c := o.stopGradient(z)
				full := o.Loss(step, z, labels)
				frozen := o.loss(step, z, labels, c)
				if full.Total.Item() != frozen.Total.Item() {
					t.Fatalf("total %g with held constants, %g without", frozen.Total.Item(), full.Total.Item())
				}
				if m.fixMatch() && (c.head.kept == 0 || c.teacher.kept == 0) {
					t.Fatalf("no sample passes the FixMatch threshold (%d, %d)", c.head.kept, c.teacher.kept)
				}
				tensortest.CheckGrad(t, func(in []*tensor.Tensor) *tensor.Tensor {
					return o.loss(step, logitsFrom(in), labels, c).Total
				}, z.list()...)
			})
		}
	}
}

// TestWhereGradientsFlow checks each term's gradient paths (spec §1.5):
// the task and distillation terms reach only z_t (α and p_g in p_m are
// detached), λ2·CE only z_gs, λ3·GI only z_gt, and FixMatch only the strong
// views.
func TestWhereGradientsFlow(t *testing.T) {
	names := []string{"z_s", "z_t", "z_gs", "z_gt", "z_t_strong", "z_gt_strong"}
	want := map[string][]string{
		"cls":        {"z_s"},
		"task":       {"z_t"},
		"distill":    {"z_t"},
		"reg_ce":     {"z_gs"},
		"reg_gi":     {"z_gt"},
		"fm_head":    {"z_t_strong"},
		"fm_teacher": {"z_gt_strong"},
	}
	for _, v := range []Variant{VariantCode, VariantPaper} {
		o := DefaultObjective(MethodCMKDFixMatch)
		o.Variant = v
		o.FixMatchThreshold = 0.5
		z0, labels := testLogits(5, 3, 4, 3)
		for term, reach := range want {
			t.Run(v.String()+"/"+term, func(t *testing.T) {
				var in []*tensor.Tensor
				for _, x := range z0.list() {
					in = append(in, x.Clone().SetRequiresGrad(true))
				}
				l := o.Loss(5000, logitsFrom(in), labels)
				for _, tm := range l.Terms() {
					if tm.Name == term {
						tm.Value.Backward()
					}
				}
				for k, x := range in {
					nonzero := false
					if g := x.Grad(); g != nil {
						for _, v := range g.Values() {
							nonzero = nonzero || v != 0
						}
					}
					if expected := strings.Contains(strings.Join(reach, " ")+" ", names[k]+" "); nonzero != expected {
						t.Errorf("gradient reaches %s: %v, want %v", names[k], nonzero, expected)
					}
				}
			})
		}
	}
}

func TestObjectiveTerms(t *testing.T) {
	z, labels := testLogits(3, 4, 5, 3)
	ce := func(x *tensor.Tensor, eps float32) float64 {
		return float64(tensor.CrossEntropy(x, labels, eps).Item())
	}

	t.Run("source-only is the smoothed CE", func(t *testing.T) {
		l := DefaultObjective(MethodSourceOnly).Loss(9000, Logits{Source: z.Source}, labels)
		scalarClose(t, "total", l.Total, ce(z.Source, 0.1), 0)
		if n := len(l.Terms()); n != 2 {
			t.Errorf("%d terms, want cls and total", n)
		}
	})
	t.Run("no ramp at t=0 except λ2", func(t *testing.T) {
		l := DefaultObjective(MethodCMKD).Loss(0, z, labels)
		for _, x := range []*tensor.Tensor{l.Task, l.Distill, l.RegGI} {
			scalarClose(t, "ramped term", x, 0, 0)
		}
		scalarClose(t, "λ2 term", l.RegCE, 0.1*ce(z.TeacherSource, 0), 1e-6)
		scalarClose(t, "total", l.Total, ce(z.Source, 0.1)+0.1*ce(z.TeacherSource, 0), 1e-5)
	})
	t.Run("terms from the building blocks", func(t *testing.T) {
		o := DefaultObjective(MethodCMKDFixMatch)
		const step = 2500
		l := o.Loss(step, z, labels)
		lam := Ramp{}.At(step)
		pH, pG := tensor.Softmax(z.Target, 1), tensor.Softmax(z.TeacherTarget, 1)
		alpha := Alpha(tensor.LogSoftmax(z.Target, 1), tensor.LogSoftmax(z.TeacherTarget, 1), VariantCode)
		pM := tensor.MulScalar(tensor.Add(pH, pG), 0.5)
		oneMinus := tensor.AddScalar(tensor.Neg(alpha), 1)
		fmH, rateH := FixMatch(z.Target, z.TargetStrong, 0.95, 0.5, VariantCode)
		fmG, rateG := FixMatch(z.TeacherTarget, z.TeacherTargetStrong, 0.95, 0.5, VariantCode)
		for _, c := range []struct {
			name string
			got  *tensor.Tensor
			want float64
		}{
			{"cls", l.Cls, ce(z.Source, 0.1)},
			{"task", l.Task, 0.25 * lam * float64(GiniCalibrated(pH, alpha).Item())},
			{"distill", l.Distill, 0.25 * lam * float64(GiniCalibrated(pM, oneMinus).Item())},
			{"reg_ce", l.RegCE, 0.1 * ce(z.TeacherSource, 0)},
			{"reg_gi", l.RegGI, 0.025 * lam * float64(GiniCalibrated(pG, nil).Item())},
			{"fm_head", l.FixMatchHead, float64(fmH.Item())},
			{"fm_teacher", l.FixMatchTeacher, float64(fmG.Item())},
		} {
			scalarClose(t, c.name, c.got, c.want, 1e-6)
		}
		var sum float64
		for _, tm := range l.Terms()[:len(l.Terms())-1] {
			sum += float64(tm.Value.Item())
		}
		scalarClose(t, "total", l.Total, sum, 1e-5)
		if l.Lambda != lam || l.MaskRateHead != rateH || l.MaskRateTeacher != rateG {
			t.Errorf("λ %g, mask rates %g %g; want %g, %g %g", l.Lambda, l.MaskRateHead, l.MaskRateTeacher, lam, rateH, rateG)
		}
		var am float64
		for _, a := range alpha.Values() {
			am += float64(a) / float64(alpha.Numel())
		}
		if math.Abs(l.AlphaMean-am) > 1e-7 {
			t.Errorf("mean α %g, want %g", l.AlphaMean, am)
		}
	})
}

func TestCheckFinite(t *testing.T) {
	z, labels := testLogits(3, 2, 2, 3)
	l := DefaultObjective(MethodCMKD).Loss(100, z, labels)
	if err := l.CheckFinite(); err != nil {
		t.Fatalf("finite loss: %v", err)
	}
	for _, tc := range []struct {
		name  string
		value float32
		set   func(l *Loss, x *tensor.Tensor)
		want  string
	}{
		{"NaN distill", float32(math.NaN()), func(l *Loss, x *tensor.Tensor) { l.Distill = x }, "distill"},
		{"+Inf reg_ce", float32(math.Inf(1)), func(l *Loss, x *tensor.Tensor) { l.RegCE = x }, "reg_ce"},
		{"-Inf total", float32(math.Inf(-1)), func(l *Loss, x *tensor.Tensor) { l.Total = x }, "total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := l
			tc.set(&bad, tensor.Scalar(tc.value))
			err := bad.CheckFinite()
			var nf *NonFiniteError
			if !errors.As(err, &nf) || nf.Term != tc.want {
				t.Fatalf("error %v, want a NonFiniteError for %s", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not name %s", err, tc.want)
			}
		})
	}
	t.Run("NaN logits name the first term", func(t *testing.T) {
		z2 := z
		z2.Source = z.Source.Clone()
		z2.Source.Data()[0] = float32(math.NaN())
		err := DefaultObjective(MethodCMKD).Loss(100, z2, labels).CheckFinite()
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Term != "cls" {
			t.Errorf("error %v, want one for cls", err)
		}
	})
}

func TestParseNames(t *testing.T) {
	for _, m := range []Method{MethodSourceOnly, MethodCMKD, MethodFixMatch, MethodCMKDFixMatch} {
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, v := range []Variant{VariantCode, VariantPaper} {
		if got, err := ParseVariant(v.String()); err != nil || got != v {
			t.Errorf("ParseVariant(%q) = %v, %v", v.String(), got, err)
		}
	}
	if _, err := ParseMethod("dann"); err == nil {
		t.Error("ParseMethod accepted dann")
	}
	if _, err := ParseVariant("Code"); err == nil {
		t.Error("ParseVariant accepted Code")
	}
}

func TestObjectiveValidate(t *testing.T) {
	ok := DefaultObjective(MethodCMKD)
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(o *Objective)
	}{
		{"method", func(o *Objective) { o.Method = 9 }},
		{"variant", func(o *Objective) { o.Variant = 2 }},
		{"negative λ1", func(o *Objective) { o.Lambda1 = -1 }},
		{"NaN λ3", func(o *Objective) { o.Lambda3 = math.NaN() }},
		{"smoothing", func(o *Objective) { o.LabelSmoothing = 1.5 }},
		{"threshold", func(o *Objective) { o.FixMatchThreshold = -0.1 }},
		{"ramp", func(o *Objective) { o.Ramp.MaxIter = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			if err := o.Validate(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestObjectiveMisuse(t *testing.T) {
	z, labels := testLogits(1, 2, 3, 4)
	for _, tc := range []struct {
		name string
		m    Method
		edit func(z *Logits)
	}{
		{"CMKD without teacher source", MethodCMKD, func(z *Logits) { z.TeacherSource = nil }},
		{"FixMatch without strong view", MethodFixMatch, func(z *Logits) { z.TargetStrong = nil }},
		{"class count differs", MethodCMKD, func(z *Logits) { z.TeacherTarget = tensor.Zeros(3, 5) }},
		{"teacher batch differs", MethodCMKD, func(z *Logits) { z.TeacherTarget = tensor.Zeros(2, 4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zz := z
			tc.edit(&zz)
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				} else if !strings.HasPrefix(r.(string), "uda: ") {
					t.Errorf("panic %q lacks the package prefix", r)
				}
			}()
			DefaultObjective(tc.m).Loss(0, zz, labels)
		})
	}
}
