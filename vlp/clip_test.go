package vlp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
)

// fixtureTensors returns the state-dict names listed in a fixture's config.json.
func fixtureTensors(t *testing.T, model string) []string {
	t.Helper()
	path := tiny(t, model, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture %s: %v", path, err)
	}
	var cfg struct {
		Tensors []struct{ Name string }
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range cfg.Tensors {
		names = append(names, x.Name)
	}
	return names
}

func TestNewHasTheReferenceStateDictNames(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			cfg, err := ReadConfig(tiny(t, model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for name := range nn.StateDict(m) {
				got = append(got, name)
			}
			want := fixtureTensors(t, model)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("state dict names differ:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestInferConfig(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			want, err := ReadConfig(tiny(t, model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(want, 1)
			if err != nil {
				t.Fatal(err)
			}
			// The tiny models have 2 text heads, not width/64 = 0: inference
			// must refuse rather than guess.
			_, err = InferConfig(nn.StateDict(m))
			if err == nil || !strings.Contains(err.Error(), "pass a config file") {
				t.Fatalf("InferConfig on a 32-wide text tower: err = %v, want a request for a config", err)
			}
			// With a 64-wide text tower everything is determined.
			want.TransformerWidth, want.TransformerHeads = 64, 1
			m, err = New(want, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := InferConfig(nn.StateDict(m))
			if err != nil {
				t.Fatal(err)
			}
			if !equalConfig(got, want) {
				t.Errorf("inferred %+v, want %+v", got, want)
			}
		})
	}
}

func equalConfig(a, b Config) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		c, err := ReadConfig(tiny(t, model, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !equalConfig(back, c) || (model == "rn") != back.IsResNet() {
			t.Errorf("%s: round trip gave %s from %s", model, b, c)
		}
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, errHas string
	}{
		{"empty.pt", "", "empty.pt"},
		{"text.bin", "this is not a checkpoint at all", "text.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Load: err = %v, want an error naming %s", err, tt.errHas)
			}
		})
	}
	// A model whose config does not match the weights: an error naming the field.
	cfg, err := ReadConfig(tiny(t, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.EmbedDim = 16
	if _, _, err := Load(tiny(t, "vit", "model.safetensors"), &cfg); err == nil || !strings.Contains(err.Error(), "embed_dim 16 but the checkpoint holds 32") {
		t.Errorf("Load with a mismatched config: err = %v, want one naming embed_dim", err)
	}
}

// TestNewModelWithoutRNG checks that the model Load fills is built without
// drawing weights: every tensor that the seed changes is zero, and the
// others (LayerNorm's ones, the logit scale) are as New makes them.
func TestNewModelWithoutRNG(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			cfg, err := ReadConfig(tiny(t, model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			a, errA := New(cfg, 1)
			b, errB := New(cfg, 2)
			none, errN := newModel(cfg, nil)
			if err := errors.Join(errA, errB, errN); err != nil {
				t.Fatal(err)
			}
			sa, sb, sn := nn.StateDict(a), nn.StateDict(b), nn.StateDict(none)
			for name, x := range sa {
				want := x.Values()
				if !slices.Equal(want, sb[name].Values()) {
					want = make([]float32, len(want))
				}
				if !slices.Equal(sn[name].Values(), want) {
					t.Errorf("%s: without an rng it is not %v", name, want[:min(len(want), 4)])
				}
			}
		})
	}
}
