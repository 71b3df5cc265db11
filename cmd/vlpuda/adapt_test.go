package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/internal/shapes"
	"github.com/vlpuda/vlpuda/uda/run"
)

// writeShapeDomains writes the two domains of package shapes below root,
// src and tgt, n images per class.
func writeShapeDomains(t *testing.T, root string, n int) {
	t.Helper()
	if err := shapes.Write(root, n); err != nil {
		t.Fatal(err)
	}
}

// readResult reads an adapt result.json.
func readResult(t *testing.T, path string) *run.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r run.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestAdaptEval(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 6)
	model := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	adaptArgs := func(out string, extra ...string) []string {
		return append([]string{"adapt", "-model", model, "-config", config, "-data", root, "-preset", "office31",
			"-s", "src", "-t", "tgt", "-epochs", "2", "-iters", "3", "-batch", "6", "-target-batch", "6",
			"-lr", "1e-3", "-head-lr-mult", "30", "-ramp-iters", "6", "-eval-batch", "8", "-seed", "3", "-out", out, "-q"}, extra...)
	}
	tests := []struct {
		name    string
		extra   []string
		ext     string // of the task file
		evalArg string
	}{
		{"rst", []string{"-method", "cmkd", "-rst", "1e-4"}, ".vlpr", "-residual"},
		{"dense", []string{"-method", "fixmatch", "-fm-threshold", "0.5"}, ".safetensors", "-checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := runVlpuda(t, adaptArgs(out, tt.extra...)...)
			if code != 0 {
				t.Fatalf("adapt: exit %d\n%s", code, stderr)
			}
			for _, want := range []string{"last epoch (2)", "selected with target labels (oracle)", "task" + tt.ext} {
				if !strings.Contains(stdout, want) {
					t.Errorf("adapt output lacks %q:\n%s", want, stdout)
				}
			}
			res := readResult(t, filepath.Join(out, run.FileResult))

			// eval reproduces the last epoch.
			evalOut := filepath.Join(t.TempDir(), "eval.json")
			code, stdout, stderr = runVlpuda(t, "eval", "-model", model, "-config", config, tt.evalArg, filepath.Join(out, "task"+tt.ext),
				"-data", filepath.Join(root, "tgt"), "-out", evalOut, "-q")
			if code != 0 {
				t.Fatalf("eval: exit %d\n%s", code, stderr)
			}
			if !strings.Contains(stdout, "top-1 accuracy") {
				t.Errorf("eval output lacks the accuracy:\n%s", stdout)
			}
			b, err := os.ReadFile(evalOut)
			if err != nil {
				t.Fatal(err)
			}
			var ev evalResult
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Correct != res.Last.Correct || ev.Top1 != res.Last.Top1 || ev.MeanPerClass != res.Last.MeanPerClass {
				t.Errorf("eval: %d correct, top-1 %v, mean per class %v; adapt's last epoch %d, %v, %v",
					ev.Correct, ev.Top1, ev.MeanPerClass, res.Last.Correct, res.Last.Top1, res.Last.MeanPerClass)
			}

			// The same folder again is refused; -resume of a finished run
			// gives the same result.
			code, _, stderr = runVlpuda(t, adaptArgs(out, tt.extra...)...)
			if code != 1 || !strings.Contains(stderr, "not empty") {
				t.Errorf("adapt into a used folder: exit %d, %s; want 1 and a refusal", code, stderr)
			}
			code, _, stderr = runVlpuda(t, adaptArgs(out, append(tt.extra, "-resume")...)...)
			if code != 0 {
				t.Fatalf("adapt -resume: exit %d\n%s", code, stderr)
			}
			if again := readResult(t, filepath.Join(out, run.FileResult)); again.Last.Correct != res.Last.Correct || again.Iterations != res.Iterations {
				t.Errorf("resumed finished run: %d correct after %d iterations, want %d after %d", again.Last.Correct, again.Iterations, res.Last.Correct, res.Iterations)
			}
		})
	}
}

func TestAdaptEvalErrors(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 2)
	if err := os.MkdirAll(filepath.Join(root, "odd", "purple"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"red", "purple"} {
		src, _ := os.ReadFile(filepath.Join(root, "src", "red", "0.png"))
		os.MkdirAll(filepath.Join(root, "odd", c), 0o755)
		os.WriteFile(filepath.Join(root, "odd", c, "0.png"), src, 0o644)
	}
	model := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	base := []string{"adapt", "-model", model, "-config", config, "-data", root}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no out", append(base, "-preset", "office31", "-s", "src", "-t", "tgt"), 2, "required"},
		{"no dataset", append(base, "-s", "src", "-t", "tgt", "-out", t.TempDir()), 2, "name the benchmark with -dataset"},
		{"no domains", append(base, "-preset", "office31", "-out", t.TempDir()), 2, "name the domains with -s and -t"},
		{"no target", append(base, "-preset", "office31", "-s", "src", "-out", t.TempDir()), 2, "name the domains"},
		{"folders and lists", append(base, "-preset", "office31", "-s", "src", "-t", "tgt", "-source-list", "a.txt", "-out", t.TempDir()), 2, "not both"},
		{"unknown method", append(base, "-preset", "office31", "-s", "src", "-t", "tgt", "-method", "dann", "-out", t.TempDir()), 1, "unknown method"},
		{"missing domain", append(base, "-preset", "office31", "-s", "src", "-t", "nope", "-out", t.TempDir()), 1, "nope"},
		{"class mismatch", append(base, "-preset", "office31", "-s", "src", "-t", "odd", "-out", t.TempDir()), 1, "purple"},
		{"bad number", append(base, "-preset", "office31", "-s", "src", "-t", "tgt", "-lr", "fast", "-out", t.TempDir()), 2, "not a number"},
		{"eval without task", []string{"eval", "-model", model, "-data", root}, 2, "required"},
		{"eval both tasks", []string{"eval", "-model", model, "-data", root, "-residual", "a", "-checkpoint", "b"}, 2, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVlpuda(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}
