package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
)

// writeImageFolder writes a small ImageFolder: per class, PNG files of
// odd sizes filled with colours derived from the class and file index.
func writeImageFolder(t *testing.T, root string, classes []string, perClass int) {
	t.Helper()
	for k, c := range classes {
		dir := filepath.Join(root, c)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			m := image.NewRGBA(image.Rect(0, 0, 37+5*i, 29+3*k))
			for y := range m.Rect.Dy() {
				for x := range m.Rect.Dx() {
					m.SetRGBA(x, y, color.RGBA{uint8(60 * k), uint8(x * 6), uint8(y*8 + 40*i), 255})
				}
			}
			f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, m); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

func TestZeroshotCommand(t *testing.T) {
	root := t.TempDir()
	classes := []string{"desk_lamp", "Bike", "back_pack"}
	writeImageFolder(t, root, classes, 2)
	out := filepath.Join(t.TempDir(), "result.json")
	args := []string{"zeroshot",
		"-model", fixture.Path(t, "clip-tiny", "vit", "model.safetensors"),
		"-config", fixture.Path(t, "clip-tiny", "vit", "config.json"),
		"-data", root, "-out", out, "-batch", "4", "-q"}

	code, stdout, stderr := runVlpuda(t, append(args, "-template", "a photo of a {}", "--template", "a drawing of a {class}")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"top-1 accuracy", "mean per-class accuracy", "back_pack", "6 images, 3 classes"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	var res struct {
		Templates    []string `json:"templates"`
		Classes      []string `json:"classes"`
		Prompts      []string `json:"prompts"`
		Resolution   int      `json:"resolution"`
		Transform    string   `json:"transform"`
		Images       int      `json:"images"`
		Correct      int      `json:"correct"`
		Top1         float64  `json:"top1"`
		MeanPerClass float64  `json:"mean_per_class"`
		PerClass     []struct {
			Class    string  `json:"class"`
			Images   int     `json:"images"`
			Correct  int     `json:"correct"`
			Accuracy float64 `json:"accuracy"`
		} `json:"per_class"`
	}
	readJSON := func() {
		t.Helper()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
	}
	readJSON()
	// ImageFolder's order: bytes, so "Bike" (upper case) first.
	wantClasses := []string{"Bike", "back_pack", "desk_lamp"}
	if !slices.Equal(res.Classes, wantClasses) {
		t.Errorf("classes %q, want %q", res.Classes, wantClasses)
	}
	if want := []string{"a photo of a Bike", "a photo of a back pack", "a photo of a desk lamp"}; !slices.Equal(res.Prompts, want) {
		t.Errorf("prompts %q, want %q", res.Prompts, want)
	}
	if len(res.Templates) != 2 || res.Resolution != 32 || res.Transform != "crop" || res.Images != 6 {
		t.Errorf("templates %q, resolution %d, transform %s, images %d; want 2 templates, 32, crop, 6",
			res.Templates, res.Resolution, res.Transform, res.Images)
	}
	correct, mean := 0, 0.0
	for k, c := range res.PerClass {
		if c.Class != wantClasses[k] || c.Images != 2 {
			t.Errorf("per-class %d: %+v, want class %s with 2 images", k, c, wantClasses[k])
		}
		correct += c.Correct
		mean += c.Accuracy / 3
	}
	if res.Correct != correct || res.Top1 != float64(correct)/6 || res.MeanPerClass != mean {
		t.Errorf("correct %d, top-1 %v, mean %v; per-class rows give %d, %v, %v", res.Correct, res.Top1, res.MeanPerClass, correct, float64(correct)/6, mean)
	}

	// The file exists now: refused without -force, replaced with it.
	code, _, stderr = runVlpuda(t, args...)
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("second run without -force: exit %d, stderr %q; want 1 and 'exists'", code, stderr)
	}
	code, _, stderr = runVlpuda(t, append(args, "-force", "-resize", "squash")...)
	if code != 0 {
		t.Fatalf("with -force: exit %d: %s", code, stderr)
	}
	readJSON()
	// The -template list of the first run must not leak into this one.
	if len(res.Templates) != 1 || res.Templates[0] != "a photo of a {}" || res.Transform != "squash" {
		t.Errorf("templates %q, transform %s; want the default template and squash", res.Templates, res.Transform)
	}
	if names := dirNames(t, filepath.Dir(out)); !slices.Equal(names, []string{"result.json"}) {
		t.Errorf("output folder holds %v, want only result.json", names)
	}
}

func TestZeroshotCommandErrors(t *testing.T) {
	model := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	good := t.TempDir()
	writeImageFolder(t, good, []string{"cat", "dog"}, 1)
	bad := t.TempDir()
	writeImageFolder(t, bad, []string{"cat", "dog"}, 1)
	corrupt := filepath.Join(bad, "dog", "z.png")
	if err := os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\n\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no data", []string{"-model", model}, 2, "-data are required"},
		{"extra argument", []string{"-model", model, "-data", good, "extra"}, 2, "nothing else"},
		{"bad resize", []string{"-model", model, "-config", config, "-data", good, "-resize", "stretch"}, 1, "unknown transform"},
		{"bad template", []string{"-model", model, "-config", config, "-data", good, "-template", "a photo"}, 1, "placeholders"},
		{"missing folder", []string{"-model", model, "-config", config, "-data", filepath.Join(good, "nope")}, 1, "nope"},
		{"corrupt image", []string{"-model", model, "-config", config, "-data", bad, "-out", filepath.Join(outDir, "r.json")}, 1, corrupt},
		{"no out folder", []string{"-model", model, "-config", config, "-data", good, "-out", filepath.Join(outDir, "no", "r.json")}, 1, "no folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVlpuda(t, append([]string{"zeroshot", "-q"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
	if names := dirNames(t, outDir); len(names) != 0 {
		t.Errorf("failed runs left %v in the output folder", names)
	}
}
