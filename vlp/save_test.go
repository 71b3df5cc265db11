package vlp

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// loadFixture loads a fixture model from model.safetensors with its config.json.
func loadFixture(t *testing.T, model string) *CLIP {
	t.Helper()
	cfg, err := ReadConfig(tiny(t, model, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := Load(tiny(t, model, "model.safetensors"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixtureInputs returns a fixture's images and token ids.
func fixtureInputs(t *testing.T, model string) (*tensor.Tensor, [][]int32) {
	t.Helper()
	in := readSafetensors(t, tiny(t, model, "inputs.safetensors"))
	ids, err := (&CLIP{Config: Config{ContextLength: 77, VocabSize: 49408}}).tokenRows(in.Tensor("text"))
	if err != nil {
		t.Fatal(err)
	}
	return fixtureTensor(t, in, "images"), ids
}

// TestSaveRoundTrip saves each fixture model and loads it back without a
// config: the architecture comes from the file, every tensor is
// bit-identical and so are the outputs.
func TestSaveRoundTrip(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			// The tiny fixtures cannot be inferred (width/64 text heads is 0),
			// so a successful load below must have used the saved config.
			if _, _, err := Load(tiny(t, model, "model.safetensors"), nil); err == nil {
				t.Fatal("fixture loaded without a config; the test would not show that Save stores one")
			}
			m := loadFixture(t, model)
			path := filepath.Join(t.TempDir(), "saved.safetensors")
			if err := Save(path, m, false); err != nil {
				t.Fatal(err)
			}
			back, info, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !info.SavedConfig || !equalConfig(back.Config, m.Config) {
				t.Errorf("config %v (saved %v), want %v", back.Config, info.SavedConfig, m.Config)
			}
			if info.DTypes["F32"] != len(nn.StateDict(m)) || len(info.DTypes) != 1 {
				t.Errorf("stored dtypes %v, want F32 only, %d tensors", info.DTypes, len(nn.StateDict(m)))
			}
			want, got := nn.StateDict(m), nn.StateDict(back)
			for name, w := range want {
				if d := bitDiff(got[name], w); d != "" {
					t.Errorf("%s: %s", name, d)
				}
			}

			// Same names and shapes as the reference's own safetensors file.
			ref := readSafetensors(t, tiny(t, model, "model.safetensors"))
			saved := readSafetensors(t, path)
			if len(saved.Tensors) != len(ref.Tensors) {
				t.Errorf("saved %d tensors, reference has %d", len(saved.Tensors), len(ref.Tensors))
			}
			for _, r := range ref.Tensors {
				s := saved.Tensor(r.Name)
				if s == nil || !slices.Equal(s.Shape, r.Shape) {
					t.Errorf("%s: saved %v, reference shape %v", r.Name, s, r.Shape)
				}
			}

			images, ids := fixtureInputs(t, model)
			images = images.Inference()
			if d := bitDiff(back.EncodeImage(images), m.EncodeImage(images)); d != "" {
				t.Errorf("image features: %s", d)
			}
			wantTxt, err1 := m.EncodeTextInference(ids)
			gotTxt, err2 := back.EncodeTextInference(ids)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if d := bitDiff(gotTxt, wantTxt); d != "" {
				t.Errorf("text features: %s", d)
			}
		})
	}
}

// bitDiff describes the first element where got and want differ in their
// bits, or returns "" when they are identical.
func bitDiff(got, want *tensor.Tensor) string {
	if got == nil {
		return "missing"
	}
	if !slices.Equal(got.Shape(), want.Shape()) {
		return fmt.Sprintf("shape %v, want %v", got.Shape(), want.Shape())
	}
	g, w := got.Values(), want.Values()
	for i := range w {
		if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
			return fmt.Sprintf("element %d is %v, want %v", i, g[i], w[i])
		}
	}
	return ""
}

func TestSaveOverwrite(t *testing.T) {
	m, err := New(Config{EmbedDim: 8, ImageResolution: 32, VisionLayers: []int{1}, VisionWidth: 64, VisionPatchSize: 16,
		ContextLength: 8, VocabSize: 50, TransformerWidth: 16, TransformerHeads: 2, TransformerLayers: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, m, false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Save over an existing file: err = %v, want fs.ErrExist naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("the existing file changed to %d bytes", len(b))
	}
	if err := Save(path, m, true); err != nil {
		t.Fatalf("Save with overwrite: %v", err)
	}
	if _, _, err := Load(path, nil); err != nil {
		t.Errorf("Load after overwrite: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only %s", len(entries), path)
	}
}

// TestSavedConfigBad checks that a corrupt saved config is an error naming
// the file, not a silent fall-back to inference.
func TestSavedConfigBad(t *testing.T) {
	dir := t.TempDir()
	tensors := []safetensors.Tensor{safetensors.FromFloat32("x", []int{1}, []float32{0})}
	for _, tt := range []struct{ name, config, errHas string }{
		{"notjson", "{", ConfigKey},
		{"invalid", `{"embed_dim":0,"vision_layers":1}`, "embed_dim = 0, want 1 to"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".safetensors")
			if err := safetensors.WriteFile(path, tensors, map[string]string{ConfigKey: tt.config}); err != nil {
				t.Fatal(err)
			}
			_, _, err := Load(path, nil)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want one naming %s and %q", err, path, tt.errHas)
			}
		})
	}
}
