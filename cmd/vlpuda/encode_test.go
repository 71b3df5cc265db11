package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// TestEncodeFixtures encodes each fixture's inputs and compares what was
// written with the reference outputs within 1e-4 (logits: 1e-4 times the
// logit scale, since they are scaled cosines).
func TestEncodeFixtures(t *testing.T) {
	tests := []struct{ model, file string }{
		{"vit", "model.pt"},
		{"rn", "state_dict.pt"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.safetensors")
			code, stdout, stderr := runVlpuda(t, "encode",
				"-model", fixture.Path(t, "clip-tiny", tt.model, tt.file),
				"-config", fixture.Path(t, "clip-tiny", tt.model, "config.json"),
				"-inputs", fixture.Path(t, "clip-tiny", tt.model, "inputs.safetensors"),
				"-out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, out) {
				t.Errorf("stdout %q does not name %s", stdout, out)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"out.safetensors"}) {
				t.Errorf("folder holds %v, want only out.safetensors", names)
			}
			got := readOutputs(t, out)
			want := readOutputs(t, fixture.Path(t, "clip-tiny", tt.model, "outputs.safetensors"))
			scale := float64(want["logit_scale_exp"].Item())
			for _, name := range []string{"image_features", "text_features", "logits_per_image", "logits_per_text", "logit_scale_exp"} {
				g, ok := got[name]
				if !ok {
					t.Errorf("output has no %s", name)
					continue
				}
				tol := 1e-4
				if strings.HasPrefix(name, "logit") {
					tol *= scale
				}
				if err := tensortest.Close(g, want[name], tol, 0); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			if len(got) != 5 {
				t.Errorf("output holds %d tensors, want 5", len(got))
			}
		})
	}
}

// readOutputs returns the float tensors of a safetensors file by name.
func readOutputs(t *testing.T, path string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*tensor.Tensor{}
	for _, st := range f.Tensors {
		if st.DType.IsFloat() {
			m[st.Name] = tensor.New(st.Float32(), st.Shape...)
		}
	}
	return m
}

// TestEncodeBadInput checks that each bad model, input or output exits
// non-zero with a message naming the file and the problem, and leaves the
// output folder as it was: no output, no temporary file.
func TestEncodeBadInput(t *testing.T) {
	in := t.TempDir()
	vitST := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	vitConfig := fixture.Path(t, "clip-tiny", "vit", "config.json")
	vitInputs := fixture.Path(t, "clip-tiny", "vit", "inputs.safetensors")
	rnST := fixture.Path(t, "clip-tiny", "rn", "model.safetensors")
	rnConfig := fixture.Path(t, "clip-tiny", "rn", "config.json")
	truncated := truncatedCopy(t, in, vitST, 0.9, "a.safetensors")
	unknown := writeFile(t, in, "b.bin", "PK this only looks like a zip")
	missing := withoutTensor(t, in, vitST, "visual.proj", "c.safetensors")
	cutInputs := truncatedCopy(t, in, vitInputs, 0.5, "inputs.safetensors")

	tests := []struct {
		name                  string
		model, config, inputs string
		existing              bool // the output exists beforehand
		extra                 []string
		code                  int
		errFile               string // "out" for the output path
		errHas                string
	}{
		{"truncated checkpoint", truncated, vitConfig, vitInputs, false, nil, 1, truncated, "out of range"},
		{"unknown format", unknown, vitConfig, vitInputs, false, nil, 1, unknown, "unknown format"},
		{"missing tensor", missing, vitConfig, vitInputs, false, nil, 1, missing, "1 missing: [visual.proj]"},
		{"wrong image shape", rnST, rnConfig, vitInputs, false, nil, 1, vitInputs, "images have shape [4 3 32 32], want [N 3 64 64]"},
		{"truncated inputs", vitST, vitConfig, cutInputs, false, nil, 1, cutInputs, "out of range"},
		{"missing inputs", vitST, vitConfig, filepath.Join(in, "none.safetensors"), false, nil, 1, "none.safetensors", "no such file"},
		{"existing output", vitST, vitConfig, vitInputs, true, nil, 1, "out", "file already exists (use -force to replace it)"},
		{"no model", "", vitConfig, vitInputs, false, nil, 2, "", "-model, -inputs and -out are required"},
		{"extra argument", vitST, vitConfig, vitInputs, false, []string{"stray"}, 2, "", "usage: vlpuda encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.safetensors")
			var want []string
			if tt.existing {
				writeFile(t, dir, "out.safetensors", "keep me")
				want = []string{"out.safetensors"}
			}
			args := []string{"encode", "-model", tt.model, "-config", tt.config, "-inputs", tt.inputs, "-out", out}
			code, stdout, stderr := runVlpuda(t, append(args, tt.extra...)...)
			errFile := tt.errFile
			if errFile == "out" {
				errFile = out
			}
			if code != tt.code || stdout != "" || !strings.Contains(stderr, errFile) || !strings.Contains(stderr, tt.errHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and a message naming %s with %q",
					code, stdout, stderr, tt.code, errFile, tt.errHas)
			}
			if names := dirNames(t, dir); !slices.Equal(names, want) {
				t.Errorf("output folder holds %v, want %v", names, want)
			}
			if tt.existing {
				if b, _ := os.ReadFile(out); string(b) != "keep me" {
					t.Errorf("the existing output was changed")
				}
			}
		})
	}

	t.Run("force", func(t *testing.T) {
		dir := t.TempDir()
		out := writeFile(t, dir, "out.safetensors", "replace me")
		code, _, stderr := runVlpuda(t, "encode", "-model", vitST, "-config", vitConfig, "-inputs", vitInputs, "-out", out, "-force")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := readOutputs(t, out); got["image_features"] == nil {
			t.Errorf("replaced output has no image_features")
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"out.safetensors"}) {
			t.Errorf("folder holds %v, want only out.safetensors", names)
		}
	})
}
