package main

import (
	"encoding/json"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// TestInspectFixtures inspects one weight file of each fixture, with the
// flags before and after MODEL, as JSON and as text. The counts are the
// fixtures' (see vlp.TestInspect).
func TestInspectFixtures(t *testing.T) {
	tests := []struct {
		model, file, format, tower string
		dtypes                     map[string]int
		params, visual, text       int
		resolution                 int
	}{
		{"vit", "model.safetensors", "safetensors", "VisionTransformer", map[string]int{"F32": 62}, 1725729, 115712, 1610016, 32},
		{"rn", "model.pt", "TorchScript archive", "ModifiedResNet", map[string]int{"F32": 134, "I64": 22}, 2922969, 1312952, 1610016, 64},
		{"vit-fp16", "model.pt", "TorchScript archive", "VisionTransformer", map[string]int{"F16": 35, "F32": 27, "I64": 3}, 1725729, 115712, 1610016, 32},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			path := fixture.Path(t, "clip-tiny", tt.model, tt.file)
			config := fixture.Path(t, "clip-tiny", tt.model, "config.json")
			code, stdout, stderr := runVlpuda(t, "inspect", path, "-config", config, "-json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got vlp.Summary
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
			}
			if got.Path != path || got.Format != tt.format || got.ImageTower != tt.tower || got.HF ||
				got.ConfigSource != "given" || got.Resolution != tt.resolution || got.EmbedDim != 32 {
				t.Errorf("got %+v, want path %s, format %q, tower %q, OpenAI names, config given, resolution %d, embed 32",
					got, path, tt.format, tt.tower, tt.resolution)
			}
			if !maps.Equal(got.DTypes, tt.dtypes) {
				t.Errorf("dtypes %v, want %v", got.DTypes, tt.dtypes)
			}
			if got.Params != tt.params || got.VisualParams != tt.visual || got.TextParams != tt.text {
				t.Errorf("params %d (visual %d, text %d), want %d (%d, %d)",
					got.Params, got.VisualParams, got.TextParams, tt.params, tt.visual, tt.text)
			}

			code, stdout, stderr = runVlpuda(t, "inspect", "-config", config, path)
			if code != 0 {
				t.Fatalf("text output: exit %d: %s", code, stderr)
			}
			for _, want := range []string{
				"format        " + tt.format,
				"image tower   " + tt.tower + ", resolution",
				"parameters    " + groupDigits(tt.params) + " (visual " + groupDigits(tt.visual),
				"config        from -config",
				got.Architecture,
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("text output lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

// TestInspectSaved checks that a checkpoint vlpuda saved needs no -config.
func TestInspectSaved(t *testing.T) {
	cfg, err := vlp.ReadConfig(fixture.Path(t, "clip-tiny", "rn", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := vlp.Load(fixture.Path(t, "clip-tiny", "rn", "model.safetensors"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rn.safetensors")
	if err := vlp.Save(path, m, false); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runVlpuda(t, "inspect", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"config        saved in the checkpoint", "ModifiedResNet", "dtypes        F32 ×153", "2,922,969"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestInspectBadInput checks that each bad checkpoint exits 1 with a
// message naming the file and the problem.
func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	vitST := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	vitPT := fixture.Path(t, "clip-tiny", "vit", "model.pt")
	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	// The file names say nothing of the problem, so only the message can.
	tests := []struct {
		name, path, errHas string
	}{
		{"truncated safetensors", truncatedCopy(t, dir, vitST, 2/3.0, "a.safetensors"), "out of range: the data holds"},
		{"truncated zip", truncatedCopy(t, dir, vitPT, 1/2.0, "b.pt"), "not a valid zip file"},
		{"unknown format", writeFile(t, dir, "c.bin", "GIF89a this is not a checkpoint"), "unknown format"},
		{"missing tensor", withoutTensor(t, dir, vitST, "ln_final.bias", "d.safetensors"), "1 missing: [ln_final.bias]"},
		{"missing file", filepath.Join(dir, "e.pt"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			code, stdout, stderr := runVlpuda(t, "inspect", "-config", config, path)
			if code != 1 || stdout != "" || !strings.Contains(stderr, path) || !strings.Contains(stderr, tt.errHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and a message naming %s with %q",
					code, stdout, stderr, path, tt.errHas)
			}
		})
	}
	t.Run("no config", func(t *testing.T) {
		code, _, stderr := runVlpuda(t, "inspect", vitST)
		if code != 1 || !strings.Contains(stderr, vitST) || !strings.Contains(stderr, "pass a config file") {
			t.Errorf("exit %d, stderr %q; want exit 1 asking for a config file", code, stderr)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		bad := writeFile(t, dir, "config.json", `{"embed_dim": 32`)
		code, _, stderr := runVlpuda(t, "inspect", "-config", bad, vitST)
		if code != 1 || !strings.Contains(stderr, bad) {
			t.Errorf("exit %d, stderr %q; want exit 1 naming %s", code, stderr, bad)
		}
	})
}

// truncatedCopy writes the first fraction of src to the file name in dir
// and returns its path.
func truncatedCopy(t *testing.T, dir, src string, fraction float64, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(b[:int(float64(len(b))*fraction)]))
}

// withoutTensor writes a copy of the safetensors file src without the
// tensor called name to the file out in dir and returns its path.
func withoutTensor(t *testing.T, dir, src, name, out string) string {
	t.Helper()
	f, err := safetensors.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var kept []safetensors.Tensor
	for _, st := range f.Tensors {
		if st.Name != name {
			kept = append(kept, st)
		}
	}
	if len(kept) == len(f.Tensors) {
		t.Fatalf("%s has no tensor %q", src, name)
	}
	path := filepath.Join(dir, out)
	if err := safetensors.WriteFile(path, kept, f.Metadata); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		pos      []string
		json     bool
		config   string
		wantsErr bool
	}{
		{[]string{"m.pt"}, []string{"m.pt"}, false, "", false},
		{[]string{"m.pt", "-json"}, []string{"m.pt"}, true, "", false},
		{[]string{"m.pt", "-config", "c.json", "n.pt", "-json"}, []string{"m.pt", "n.pt"}, true, "c.json", false},
		{[]string{"m.pt", "--", "-json"}, []string{"m.pt", "-json"}, false, "", false},
		{[]string{"--", "-m.pt", "-json"}, []string{"-m.pt", "-json"}, false, "", false},
		{[]string{"m.pt", "-nosuch"}, nil, false, "", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			jsonFlag := fs.Bool("json", false, "")
			config := fs.String("config", "", "")
			pos, err := parseInterspersed(fs, tt.args)
			if (err != nil) != tt.wantsErr || !slices.Equal(pos, tt.pos) || *jsonFlag != tt.json || *config != tt.config {
				t.Errorf("got %q, -json %v, -config %q, err %v; want %q, %v, %q, error %v",
					pos, *jsonFlag, *config, err, tt.pos, tt.json, tt.config, tt.wantsErr)
			}
		})
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1725729: "1,725,729", 151277313: "151,277,313"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}
