package uda

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// cmkdGolden is testdata/cmkd_golden.json, written by cmkd_golden.py with
// PyTorch in float64 from the spec's equations.
type cmkdGolden struct {
	Config struct {
		Step                      int
		Lambda1, Lambda2, Lambda3 float64
		LabelSmoothing            float64 `json:"label_smoothing"`
		FixMatchWeight            float64 `json:"fixmatch_weight"`
		FixMatchThreshold         float64 `json:"fixmatch_threshold"`
		Scale                     float32
	}
	Inputs struct {
		Labels     []int
		Text       [][]float64
		FeaturesS  [][]float64 `json:"features_s"`
		FeaturesT  [][]float64 `json:"features_t"`
		FeaturesTS [][]float64 `json:"features_ts"`
		// Logits by name: z_s, z_t, z_gs, z_gt, z_ts, z_gts.
		ZS   [][]float64 `json:"z_s"`
		ZT   [][]float64 `json:"z_t"`
		ZGS  [][]float64 `json:"z_gs"`
		ZGT  [][]float64 `json:"z_gt"`
		ZTS  [][]float64 `json:"z_ts"`
		ZGTS [][]float64 `json:"z_gts"`
	}
	Variants map[string]struct {
		Lambda          float64
		Alpha           []float64
		MaskRateHead    float64 `json:"mask_rate_head"`
		MaskRateTeacher float64 `json:"mask_rate_teacher"`
		Terms           map[string]float64
		TotalCMKD       float64 `json:"total_cmkd"`
		Grads           map[string][][]float64
		GradsCMKD       map[string][][]float64 `json:"grads_cmkd"`
	}
}

func matrix(rows [][]float64) *tensor.Tensor {
	var data []float64
	for _, r := range rows {
		data = append(data, r...)
	}
	return tensor.FromFloat64(data, len(rows), len(rows[0]))
}

// readGolden returns the golden file and its logits by name.
func readGolden(t *testing.T) (cmkdGolden, map[string][][]float64) {
	t.Helper()
	b, err := os.ReadFile("testdata/cmkd_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g cmkdGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("testdata/cmkd_golden.json: %v", err)
	}
	in := g.Inputs
	return g, map[string][][]float64{
		"z_s": in.ZS, "z_t": in.ZT, "z_gs": in.ZGS, "z_gt": in.ZGT, "z_ts": in.ZTS, "z_gts": in.ZGTS,
	}
}

// maxDiff returns the largest |got − want| over the elements.
func maxDiff(got []float32, want []float64) float64 {
	d := 0.0
	for i, w := range want {
		d = math.Max(d, math.Abs(float64(got[i])-w))
		if math.IsNaN(float64(got[i])) {
			return math.Inf(1)
		}
	}
	return d
}

func flat64(rows [][]float64) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// TestCMKDGolden compares every term, α, the mask rates and the gradient of
// the total with respect to each logits tensor with PyTorch's (float64) on
// a fixed batch: B_s 4, B_t 6, C 5, t 3000, λ 0.25/0.1/0.025, smoothing 0.1,
// FixMatch 0.5/0.95.
func TestCMKDGolden(t *testing.T) {
	const tol = 1e-5
	g, raw := readGolden(t)
	in := map[string]*tensor.Tensor{}
	for k, m := range raw {
		in[k] = matrix(m)
	}

	t.Run("teacher logits", func(t *testing.T) {
		text := matrix(g.Inputs.Text)
		for _, c := range []struct {
			name string
			feat [][]float64
		}{{"z_gs", g.Inputs.FeaturesS}, {"z_gt", g.Inputs.FeaturesT}, {"z_gts", g.Inputs.FeaturesTS}} {
			got := TeacherLogits(matrix(c.feat), text, g.Config.Scale)
			// Logits near 100 in float32: a few ulp (7.6e-6) of rounding.
			d := maxDiff(got.Values(), flat64(raw[c.name]))
			t.Logf("%s: max abs diff %.3g", c.name, d)
			if d > 1e-4 {
				t.Errorf("%s: max abs diff %.3g > 1e-4", c.name, d)
			}
		}
	})

	for _, variant := range []Variant{VariantCode, VariantPaper} {
		want, ok := g.Variants[variant.String()]
		if !ok {
			t.Fatalf("no golden values for %v", variant)
		}
		for _, method := range []Method{MethodCMKD, MethodCMKDFixMatch} {
			t.Run(variant.String()+"/"+method.String(), func(t *testing.T) {
				o := Objective{
					Method: method, Variant: variant,
					Lambda1: g.Config.Lambda1, Lambda2: g.Config.Lambda2, Lambda3: g.Config.Lambda3,
					LabelSmoothing: g.Config.LabelSmoothing,
					FixMatchWeight: g.Config.FixMatchWeight, FixMatchThreshold: g.Config.FixMatchThreshold,
				}
				leaves := map[string]*tensor.Tensor{}
				for k, v := range in {
					leaves[k] = v.Clone().SetRequiresGrad(true)
				}
				z := Logits{
					Source: leaves["z_s"], Target: leaves["z_t"], TeacherSource: leaves["z_gs"], TeacherTarget: leaves["z_gt"],
					TargetStrong: leaves["z_ts"], TeacherTargetStrong: leaves["z_gts"],
				}
				if method == MethodCMKD {
					z.TargetStrong, z.TeacherTargetStrong = nil, nil
				}
				l := o.Loss(g.Config.Step, z, g.Inputs.Labels)
				worst := 0.0
				check := func(what string, d float64) {
					worst = math.Max(worst, d)
					if d > tol || math.IsNaN(d) {
						t.Errorf("%s: max abs diff %.3g > %g", what, d, tol)
					}
				}
				for _, tm := range l.Terms() {
					w := want.Terms[tm.Name]
					if tm.Name == "total" && method == MethodCMKD {
						w = want.TotalCMKD
					}
					check(tm.Name, math.Abs(float64(tm.Value.Item())-w))
				}
				termsMax := worst
				check("λ_dyn", math.Abs(l.Lambda-want.Lambda))
				var am float64
				for _, a := range want.Alpha {
					am += a / float64(len(want.Alpha))
				}
				check("mean α", math.Abs(l.AlphaMean-am))
				check("α", maxDiff(Alpha(tensor.LogSoftmax(in["z_t"], 1), tensor.LogSoftmax(in["z_gt"], 1), variant).Values(), want.Alpha))
				if method == MethodCMKDFixMatch {
					if l.MaskRateHead != want.MaskRateHead || l.MaskRateTeacher != want.MaskRateTeacher {
						t.Errorf("mask rates %g, %g; want %g, %g", l.MaskRateHead, l.MaskRateTeacher, want.MaskRateHead, want.MaskRateTeacher)
					}
					if n := len(l.Terms()); n != 8 {
						t.Errorf("%d terms, want 8", n)
					}
				}
				alphaMax := worst

				l.Total.Backward()
				gradsMax := 0.0
				for k, x := range leaves {
					if method == MethodCMKD && (k == "z_ts" || k == "z_gts") {
						if x.Grad() != nil {
							t.Errorf("%s has a gradient without FixMatch", k)
						}
						continue
					}
					wg := want.Grads[k]
					if method == MethodCMKD {
						wg = want.GradsCMKD[k]
					}
					if x.Grad() == nil || wg == nil {
						t.Errorf("%s: gradient %v, golden %v", k, x.Grad() != nil, wg != nil)
						continue
					}
					d := maxDiff(x.Grad().Values(), flat64(wg))
					gradsMax = math.Max(gradsMax, d)
					check("∂total/∂"+k, d)
				}
				t.Logf("max abs diff: terms %.3g, α %.3g, gradients %.3g", termsMax, alphaMax, gradsMax)
			})
		}
	}
}
