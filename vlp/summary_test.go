package vlp

import (
	"math"
	"testing"
)

// TestInspect checks the summary of each fixture. The parameter counts come
// from the fixtures' READMEs: the float values of the state dict (1,725,729
// for vit; 2,927,833 for rn, of which 4,864 are BatchNorm running
// statistics) and the visual.* entries among them.
func TestInspect(t *testing.T) {
	tests := []struct {
		model, file          string
		format, tower        string
		dtypes               map[string]int
		params, visual, text int
		resolution, embedDim int
	}{
		{"vit", "model.safetensors", "safetensors", "VisionTransformer", map[string]int{"F32": 62}, 1725729, 115712, 1610016, 32, 32},
		{"rn", "state_dict.pt", "PyTorch state dict", "ModifiedResNet", map[string]int{"F32": 134, "I64": 19}, 2927833 - 4864, 1312952, 1610016, 64, 32},
		{"vit-fp16", "model.pt", "TorchScript archive", "VisionTransformer", map[string]int{"F16": 35, "F32": 27, "I64": 3}, 1725729, 115712, 1610016, 32, 32},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			cfg, err := ReadConfig(tiny(t, tt.model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Inspect(tiny(t, tt.model, tt.file), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != tt.format || s.ImageTower != tt.tower || s.HF || s.ConfigSource != "given" {
				t.Errorf("format %q, tower %q, HF %v, config %q; want %q, %q, false, given", s.Format, s.ImageTower, s.HF, s.ConfigSource, tt.format, tt.tower)
			}
			if len(s.DTypes) != len(tt.dtypes) {
				t.Errorf("dtypes %v, want %v", s.DTypes, tt.dtypes)
			}
			for k, v := range tt.dtypes {
				if s.DTypes[k] != v {
					t.Errorf("dtypes %v, want %v", s.DTypes, tt.dtypes)
				}
			}
			if s.Params != tt.params || s.VisualParams != tt.visual || s.TextParams != tt.text {
				t.Errorf("params %d (visual %d, text %d), want %d (%d, %d)", s.Params, s.VisualParams, s.TextParams, tt.params, tt.visual, tt.text)
			}
			if s.Params != s.VisualParams+s.TextParams+1 {
				t.Errorf("params %d ≠ visual %d + text %d + the logit scale", s.Params, s.VisualParams, s.TextParams)
			}
			if s.Resolution != tt.resolution || s.EmbedDim != tt.embedDim || s.Architecture != cfg.String() {
				t.Errorf("resolution %d, embed %d, architecture %q; want %d, %d, %q", s.Resolution, s.EmbedDim, s.Architecture, tt.resolution, tt.embedDim, cfg.String())
			}
			out := readSafetensors(t, tiny(t, tt.model, "outputs.safetensors"))
			if want := float64(fixtureTensor(t, out, "logit_scale_exp").Item()); math.Abs(s.LogitScale-want) > 1e-5*want {
				t.Errorf("logit scale %g, want %g", s.LogitScale, want)
			}
		})
	}
}
