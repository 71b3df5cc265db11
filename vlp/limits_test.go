package vlp

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// hugeVocab is 2⁴⁰, or the largest int where int has 32 bits.
const hugeVocab = min(1<<40, math.MaxInt)

// hugeConfigs are configurations that ask for far more than the fixtures
// hold, each with the text its error must contain to name the field.
var hugeConfigs = []struct {
	name   string
	change func(c *Config)
	want   string
}{
	{"vision_layers 1e7", func(c *Config) { c.VisionLayers = []int{1e7} }, "vision_layers [10000000], want each 0 to 256"},
	{"vision_layers 200", func(c *Config) { c.VisionLayers = []int{200} }, "vision_layers [200] but the checkpoint holds 2 visual blocks"},
	{"resnet layers", func(c *Config) { c.VisionLayers = []int{1e6, 1, 1, 1} }, "vision_layers [1000000 1 1 1], want each 0 to 256"},
	{"resnet tower", func(c *Config) { c.VisionLayers = []int{1, 1, 1, 1}; c.VisionPatchSize = 0 }, "describes a ResNet but the checkpoint holds a ViT"},
	{"vision_width 1e9", func(c *Config) { c.VisionWidth = 1e9 }, "vision_width = 1000000000, want 1 to 16384"},
	{"vision_width 4096", func(c *Config) { c.VisionWidth = 4096 }, "vision_width 4096 but the checkpoint holds 64"},
	{"transformer_layers 1e7", func(c *Config) { c.TransformerLayers = 1e7 }, "transformer_layers = 10000000, want 1 to 256"},
	{"transformer_layers 100", func(c *Config) { c.TransformerLayers = 100 }, "transformer_layers 100 but the checkpoint holds 2"},
	{"transformer_width", func(c *Config) { c.TransformerWidth = 8192; c.TransformerHeads = 2 }, "transformer_width 8192 but the checkpoint holds 32"},
	{"image_resolution 1e6", func(c *Config) { c.ImageResolution = 1e6 }, "image_resolution = 1000000, want 1 to 4096"},
	{"image_resolution 1024", func(c *Config) { c.ImageResolution = 1024 }, "image_resolution 1024 but the checkpoint holds 32"},
	{"patch grid", func(c *Config) { c.ImageResolution = 4096; c.VisionPatchSize = 1 }, "grid of 4096, more than 128"},
	{"vocab_size 2^40", func(c *Config) { c.VocabSize = hugeVocab }, fmt.Sprintf("vocab_size = %d, want 1 to 1048576", hugeVocab)},
	{"vocab_size 2^20", func(c *Config) { c.VocabSize = 1 << 20 }, "vocab_size 1048576 but the checkpoint holds 49408"},
	{"context_length", func(c *Config) { c.ContextLength = 4000 }, "context_length 4000 but the checkpoint holds 77"},
	{"embed_dim", func(c *Config) { c.EmbedDim = 16000 }, "embed_dim 16000 but the checkpoint holds 32"},
	{"transformer_heads", func(c *Config) { c.TransformerHeads = 1 << 20 }, "transformer_heads = 1048576, want 1 to 16384"},
}

// TestHugeConfigs loads the ViT fixture with each huge configuration,
// given as a config file and as the config saved in a safetensors file's
// metadata: each must be refused quickly, naming the field, before a model
// is built.
func TestHugeConfigs(t *testing.T) {
	base, err := ReadConfig(tiny(t, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	model := tiny(t, "vit", "model.safetensors")
	f, err := safetensors.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tt := range hugeConfigs {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.VisionLayers = append([]int(nil), base.VisionLayers...)
			tt.change(&c)
			js, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			// As a -config file: ReadConfig checks the limits, Load the shapes.
			cfgPath := filepath.Join(dir, "config.json")
			if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := ReadConfig(cfgPath)
			if err == nil {
				_, _, err = Load(model, &cfg)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("config file: error %v, want one containing %q", err, tt.want)
			}
			// As the config saved in the checkpoint.
			saved := filepath.Join(dir, "saved.safetensors")
			os.Remove(saved)
			if err := safetensors.WriteFile(saved, f.Tensors, map[string]string{ConfigKey: string(js)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Load(saved, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("saved config: error %v, want one containing %q", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refusals took %v", d)
			}
		})
	}
}

// TestApproxParams checks that ApproxParams never counts more parameters
// than a model holds, and misses few of them.
func TestApproxParams(t *testing.T) {
	for _, name := range []string{"vit", "rn"} {
		c, err := ReadConfig(tiny(t, name, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, layers := range [][]int{c.VisionLayers, {3}, {1, 2, 3, 1}} {
			c := c
			c.VisionLayers = layers
			if len(layers) == 1 {
				c.VisionPatchSize, c.VisionWidth = 8, 64
			}
			m, err := New(c, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, want := c.ApproxParams(), int64(nn.CountParams(m))
			if got > want || got < want*3/4 {
				t.Errorf("%v: ApproxParams %d, the model holds %d", c, got, want)
			}
		}
	}
}

// TestReadConfigLimit reads a config file just over MaxConfigFile (a valid
// config padded with spaces): it must be refused, naming the limit.
func TestReadConfigLimit(t *testing.T) {
	b, err := os.ReadFile(tiny(t, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.json")
	for _, tt := range []struct {
		size int
		ok   bool
	}{{MaxConfigFile, true}, {MaxConfigFile + 1, false}} {
		pad := make([]byte, tt.size-len(b))
		for i := range pad {
			pad[i] = ' '
		}
		if err := os.WriteFile(path, append(pad, b...), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadConfig(path)
		if tt.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes") {
			t.Errorf("%d bytes: error %v, want ok %v", tt.size, err, tt.ok)
		}
	}
}

// TestCheckShapesMissingTensor checks a config against a state dict that
// lacks the tensor deciding one of its sizes: the size cannot be compared,
// but the model may still not be far larger than the state dict.
func TestCheckShapesMissingTensor(t *testing.T) {
	c, err := ReadConfig(tiny(t, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	sd := nn.StateDict(m)
	delete(sd, "token_embedding.weight")
	tests := []struct {
		vocab int
		want  string // "" for no error
	}{
		{1000, ""},
		{MaxVocab, "parameters but the checkpoint holds only"},
	}
	for _, tt := range tests {
		c := c
		c.VocabSize = tt.vocab
		err := CheckShapes(c, sd)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("vocab_size %d: error %v, want %q", tt.vocab, err, tt.want)
		}
	}
}
