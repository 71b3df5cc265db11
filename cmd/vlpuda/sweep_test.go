package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/uda/run"
)

// writeGrid writes a GRID.json for the tiny CLIP and the shape domains in
// root, edited by edit, and returns its path.
func writeGrid(t *testing.T, root string, edit func(g *run.Grid)) string {
	t.Helper()
	g := run.Grid{
		Model:  fixture.Path(t, "clip-tiny", "vit", "model.safetensors"),
		Config: fixture.Path(t, "clip-tiny", "vit", "config.json"),
		Data:   root, Preset: "office31",
		Tasks:   []run.Pair{{Source: "src", Target: "tgt"}},
		Methods: []string{"cmkd", "source-only"},
		Seeds:   []uint64{1},
		Overrides: map[string]float64{"epochs": 1, "iters": 2, "batch": 6, "target-batch": 6, "lr": 1e-3,
			"head-lr-mult": 30, "ramp-iters": 6, "eval-batch": 8},
	}
	if edit != nil {
		edit(&g)
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "grid.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSweep(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 3)
	grid := writeGrid(t, root, nil)
	dir := filepath.Join(t.TempDir(), "sweep")
	steps := []struct {
		args   []string
		code   int
		stdout string // substring
	}{
		{[]string{"sweep", "plan", grid, "-out", dir, "-parallel", "2", "-mem", "1000"}, 0, "2 runs (1 tasks × 2 methods × 1 seeds)"},
		{[]string{"sweep", "plan", grid, "-out", dir}, 0, "sbatch " + filepath.Join(dir, "sweep.sbatch")},
		{[]string{"sweep", "plan", grid, "-out", dir, "-probe-steps", "1"}, 0, "MiB (measured peak "},
		{[]string{"sweep", "plan", grid, "-out", dir, "-k8s-claim", "uda", "-k8s-mount", "/", "-k8s-image", "vlpuda:1"}, 0,
			"kubectl create -f " + filepath.Join(dir, "sweep-job.yaml")},
		{[]string{"sweep", "status", dir}, 0, "2 runs: 0 done, 0 running, 0 failed, 2 pending"},
		{[]string{"sweep", "report", dir}, 0, "| cmkd | missing (0/1 runs) | missing (0/1 runs) | no run finished |"},
		{[]string{"sweep", "run", dir, "-index", "1", "-q"}, 0, "run 1 (src→tgt, source-only, seed 1): top-1"},
		{[]string{"sweep", "run", dir, "-index", "1", "-q"}, 0, "run 1: done already"},
		{[]string{"sweep", "status", dir}, 0, "2 runs: 1 done, 0 running, 0 failed, 1 pending"},
		{[]string{"sweep", "status", dir}, 0, "memory: the workers peaked at "},
		{[]string{"sweep", "run", "-q", dir, "-all"}, 0, "run 0 (src→tgt, cmkd, seed 1)"},
		{[]string{"sweep", "report", dir}, 0, "| source-only |"},
	}
	for _, s := range steps {
		code, stdout, stderr := runVlpuda(t, s.args...)
		if code != s.code || !strings.Contains(stdout, s.stdout) {
			t.Fatalf("%q: exit %d, want %d; stdout lacks %q?\n%s\n%s", s.args, code, s.code, s.stdout, stdout, stderr)
		}
	}
	if code, _, stderr := runVlpuda(t, "sweep", "plan", grid, "-out", dir); code != 0 || !strings.Contains(stderr, "the whole run ~") {
		t.Errorf("plan: exit %d; no estimate of a run's time in its probes' lines:\n%s", code, stderr)
	}
	for _, name := range []string{"plan.json", "memory.json", "runs/1/usage.json", "sweep.sbatch", "sweep-job.yaml", "report.md", "report.json", "report.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "sweep.sbatch"))
	if err != nil || !strings.Contains(string(b), "#SBATCH --mem=") || strings.Contains(string(b), "%2") {
		t.Errorf("the second plan did not rewrite sweep.sbatch with its flags: %v\n%s", err, b)
	}
}

func TestSweepBadInput(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 2)
	dir := filepath.Join(t.TempDir(), "sweep")
	if code, _, stderr := runVlpuda(t, "sweep", "plan", writeGrid(t, root, nil), "-out", dir); code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	misspelt := filepath.Join(t.TempDir(), "grid.json")
	if err := os.WriteFile(misspelt, []byte(`{"modle": "x.safetensors"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // substring
	}{
		{"unknown method", []string{"sweep", "plan", writeGrid(t, root, func(g *run.Grid) { g.Methods = []string{"dann"} }), "-out", t.TempDir()}, 1, `unknown method "dann"`},
		{"missing domain", []string{"sweep", "plan", writeGrid(t, root, func(g *run.Grid) { g.Tasks[0].Target = "tgt2" }), "-out", t.TempDir()}, 1, "domain tgt2"},
		{"plan of another grid", []string{"sweep", "plan", writeGrid(t, root, func(g *run.Grid) { g.Seeds = []uint64{1, 2} }), "-out", dir}, 1, "plan of another grid"},
		{"unknown field", []string{"sweep", "plan", misspelt, "-out", t.TempDir()}, 1, `unknown field "modle"`},
		{"no grid", []string{"sweep", "plan", misspelt + ".none", "-out", t.TempDir()}, 1, "no such file"},
		{"index out of range", []string{"sweep", "run", dir, "-index", "2"}, 1, "index 2 out of range: the plan has runs 0 to 1"},
		{"no plan", []string{"sweep", "status", t.TempDir()}, 1, "plan.json"},
		{"no index", []string{"sweep", "run", dir}, 2, "give -index I or -all"},
		{"no probe steps", []string{"sweep", "plan", writeGrid(t, root, nil), "-out", t.TempDir(), "-probe-steps", "0"}, 2, "-probe-steps 0 is out of range"},
		{"negative memory", []string{"sweep", "plan", writeGrid(t, root, nil), "-out", t.TempDir(), "-mem", "-1"}, 2, "-mem -1 is out of range"},
		{"no out", []string{"sweep", "plan", writeGrid(t, root, nil)}, 2, "usage: vlpuda sweep plan"},
		{"two folders", []string{"sweep", "status", dir, dir}, 2, "usage: vlpuda sweep status"},
		{"k8s without an image", []string{"sweep", "plan", writeGrid(t, root, nil), "-out", dir, "-k8s-claim", "c", "-k8s-mount", "/"}, 1, "an image"},
		{"unknown verb", []string{"sweep", "submit", dir}, 2, `unknown verb "submit"`},
		{"no verb", []string{"sweep"}, 2, "usage: vlpuda sweep plan|run|status|report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVlpuda(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr lacks %q?\n%s", code, tt.code, tt.stderr, stderr)
			}
		})
	}
}

func TestSweepHelp(t *testing.T) {
	for _, verb := range []string{"plan", "run", "status", "report"} {
		code, _, stderr := runVlpuda(t, "sweep", verb, "-h")
		if code != 0 || !strings.Contains(stderr, "usage: vlpuda sweep "+verb) {
			t.Errorf("sweep %s -h: exit %d\n%s", verb, code, stderr)
		}
	}
}
