package run

import (
	"testing"

	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/vlp"
)

func TestPresets(t *testing.T) {
	for _, p := range Presets {
		t.Run(p.Name, func(t *testing.T) {
			for _, resnet := range []bool{false, true} {
				for m := uda.MethodSourceOnly; m <= uda.MethodCMKDFixMatch; m++ {
					if err := p.Config(m, resnet).Validate(); err != nil {
						t.Errorf("resnet %v, %v: %v", resnet, m, err)
					}
				}
			}
			if _, err := augment.ForBenchmark(p.Name, 224); err != nil {
				t.Errorf("no data recipe: %v", err)
			}
		})
	}
	// Spot checks against spec §2.2 and §2.3.
	get := func(name string) Preset {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	visda := get("visda").Config(uda.MethodCMKDFixMatch, true)
	dn := get("domainnet").Config(uda.MethodCMKD, false)
	oh := get("officehome")
	tests := []struct {
		name      string
		got, want any
	}{
		{"visda resnet lr", visda.LR, 3e-9},
		{"visda resnet head ×", visda.HeadLRMult, 1e4},
		{"visda metric", visda.Metric, uda.MetricMeanPerClass},
		{"visda FixMatch", [2]float64{visda.Objective.FixMatchWeight, visda.Objective.FixMatchThreshold}, [2]float64{2, 0.8}},
		{"visda τ", [2]float64{get("visda").ViT.Tau, get("visda").ResNet.Tau}, [2]float64{1e-7, 1e-8}},
		{"domainnet λ", [3]float64{dn.Objective.Lambda1, dn.Objective.Lambda2, dn.Objective.Lambda3}, [3]float64{0.025, 0.1, 0.0025}},
		{"domainnet iterations", dn.Iterations(), 40000},
		{"digits batch", get("digits").SourceBatch, 64},
		{"officehome template", oh.Template, vlp.TemplateImage},
		{"officehome vit", [2]float64{oh.ViT.LR, oh.ViT.HeadLRMult}, [2]float64{3e-6, 1000}},
		{"schedule", [2]float64{dn.LRGamma, dn.LRPower}, [2]float64{0.0003, 0.75}},
		{"sgd", [3]any{dn.Momentum, dn.Nesterov, dn.WeightDecay}, [3]any{0.9, true, 5e-4}},
		{"label smoothing", dn.Objective.LabelSmoothing, 0.1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, err := LookupPreset("office-31"); err == nil {
		t.Errorf("LookupPreset accepted an unknown name")
	}
}
