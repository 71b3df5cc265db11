package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/uda/sweep"
)

// TestDemoCommand runs `vlpuda demo -quick` end to end on a random tiny
// teacher with tiny iteration counts on the Go-only task fonts->mnist, and
// checks the JSON, the table of a rerun that is refused, and -force.
func TestDemoCommand(t *testing.T) {
	teacher, out := tinyTeacher(t, true), filepath.Join(t.TempDir(), "demo")
	args := []string{"demo", "-quick", "-teacher", teacher, "-out", out, "-tasks", "fonts->mnist",
		"-cache", t.TempDir(), "-iters", "2", "-epochs", "1", "-batch", "4", "-train-images", "20", "-test-images", "20", "-q"}
	code, stdout, stderr := runVlpuda(t, append(args, "-json")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var got struct {
		Tasks   []string                             `json:"tasks"`
		Results map[string]map[string]map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if len(got.Tasks) != 1 || got.Tasks[0] != "fonts->mnist" {
		t.Errorf("tasks %v, want [fonts->mnist]", got.Tasks)
	}
	for _, m := range []string{"zero-shot", "source-only", "cmkd", "cmkd+rst", "cmkd+rst-paper", "cmkd+fixmatch"} {
		for _, key := range []string{"accuracy_last", "accuracy_best", "stored_params", "stored_bytes"} {
			if _, ok := got.Results["fonts->mnist"][m][key].(float64); !ok {
				t.Errorf("results[fonts->mnist][%s] has no %s", m, key)
			}
		}
	}

	code, _, stderr = runVlpuda(t, args...)
	if code != 1 || !strings.Contains(stderr, "finished demo") || !strings.Contains(stderr, "force") {
		t.Errorf("rerun: exit %d, stderr %q; want 1 and a message naming the finished demo and -force", code, stderr)
	}
	code, stdout, stderr = runVlpuda(t, append(args, "-force")...)
	if code != 0 {
		t.Fatalf("-force: exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"Method", "fonts→mnist", "CMKD+RST", "% of the tower", "results in"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// TestDemoWithoutGoOrApt runs the default demo's task where neither the go
// command, nor a module cache, nor apt-get is there, as on a machine that
// got only the release binary: MNIST comes from the binary, and MNIST→MNIST-M
// becomes fonts→MNIST with a note that says which files to put where.
func TestDemoWithoutGoOrApt(t *testing.T) {
	teacher, empty, cache := tinyTeacher(t, true), t.TempDir(), t.TempDir()
	for _, k := range []string{"PATH", "GOMODCACHE", "GOPATH", "HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, empty)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"quick", []string{"-quick"}},
		{"default", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"demo", "-teacher", teacher, "-out", filepath.Join(t.TempDir(), "demo"), "-cache", cache,
				"-iters", "2", "-epochs", "1", "-batch", "4", "-q", "-methods", "zero-shot,source-only"}, tc.args...)
			code, stdout, stderr := runVlpuda(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			for _, want := range []string{"fonts→mnist", "Source only", "apt-get or dpkg-deb not found",
				filepath.Join(cache, "debian", "python3-skimage", "astronaut.png")} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestDemoNoTeacher(t *testing.T) {
	code, _, stderr := runVlpuda(t, "demo", "-teacher", filepath.Join(t.TempDir(), "none.safetensors"), "-out", t.TempDir(), "-tasks", "fonts->mnist", "-q")
	if code != 1 || !strings.Contains(stderr, "none.safetensors") {
		t.Errorf("exit %d, stderr %q; want 1 and the missing file named", code, stderr)
	}
}

// TestDemoMethodsAndDensity runs the sweep flags of the protocol: -methods
// keeps the table to the methods named, -rst-density caps the residual.
func TestDemoMethodsAndDensity(t *testing.T) {
	teacher := tinyTeacher(t, true)
	args := []string{"demo", "-teacher", teacher, "-tasks", "fonts->mnist", "-cache", t.TempDir(),
		"-iters", "4", "-epochs", "1", "-batch", "4", "-train-images", "20", "-test-images", "20", "-q", "-json"}
	const density = 0.002
	code, stdout, stderr := runVlpuda(t, append(args, "-out", filepath.Join(t.TempDir(), "demo"),
		"-methods", "cmkd+rst", "-tau", "1e-9", "-rst-density", "0.002")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var got struct {
		Results map[string]map[string]struct {
			Density float64 `json:"tower_density"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	cells := got.Results["fonts->mnist"]
	if len(cells) != 1 {
		t.Fatalf("results %v, want cmkd+rst only", cells)
	}
	if d := cells["cmkd+rst"].Density; !(d > 0 && d <= density) {
		t.Errorf("cmkd+rst changed %v of the tower with τ 1e-9 and -rst-density %v; want (0, %v]", d, density, density)
	}

	for _, tt := range []struct{ flag, value, want string }{
		{"-methods", "cmkd,fancy", `unknown method "fancy"`},
		{"-rst-density", "1.5", "density cap 1.5"},
	} {
		code, _, stderr := runVlpuda(t, append(args, "-out", filepath.Join(t.TempDir(), "demo"), tt.flag, tt.value)...)
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want 1 and %q", tt.flag, tt.value, code, stderr, tt.want)
		}
	}
}

// TestDemoGridIsASweep checks that the demo's runs are a sweep: the grid
// that `vlpuda demo -grid` prints, planned with `vlpuda sweep plan` and run
// index by index with `vlpuda sweep run`, gives what `vlpuda demo` gives in
// one process, run for run: the same task files, confusion matrices and
// step sizes, byte for byte, and `vlpuda sweep report` the same accuracy
// per task, method and seed as the demo's JSON.
func TestDemoGridIsASweep(t *testing.T) {
	teacher, root := tinyTeacher(t, true), t.TempDir()
	flags := []string{"-teacher", teacher, "-tasks", "fonts->mnist", "-seeds", "2", "-cache", t.TempDir(),
		"-iters", "2", "-epochs", "1", "-batch", "4", "-train-images", "20", "-test-images", "20"}
	inProcess, swept := filepath.Join(root, "demo"), filepath.Join(root, "sweep")
	code, stdout, stderr := runVlpuda(t, append([]string{"demo", "-out", inProcess, "-json", "-q"}, flags...)...)
	if code != 0 {
		t.Fatalf("demo: exit %d, stderr:\n%s", code, stderr)
	}
	var summary struct {
		Tasks   []string                              `json:"tasks"`
		Methods []string                              `json:"methods"`
		Results map[string]map[string]demoSummaryCell `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &summary); err != nil {
		t.Fatal(err)
	}

	code, grid, stderr := runVlpuda(t, append([]string{"demo", "-grid"}, flags...)...)
	if code != 0 {
		t.Fatalf("demo -grid: exit %d, stderr:\n%s", code, stderr)
	}
	gridFile := filepath.Join(root, "grid.json")
	if err := os.WriteFile(gridFile, []byte(grid), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runVlpuda(t, "sweep", "plan", gridFile, "-out", swept); code != 0 {
		t.Fatalf("sweep plan: exit %d, stderr:\n%s", code, stderr)
	}
	p, err := run.ReadPlan(swept)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(summary.Methods) * 2; len(p.Runs) != want {
		t.Fatalf("the grid plans %d runs, want %d", len(p.Runs), want)
	}
	for _, r := range p.Runs {
		if code, _, stderr := runVlpuda(t, "sweep", "run", swept, "-index", strconv.Itoa(r.Index)); code != 0 {
			t.Fatalf("sweep run -index %d: exit %d, stderr:\n%s", r.Index, code, stderr)
		}
		files := []string{run.FileConfusion, run.FileSteps, run.FileTask + ".safetensors", run.FileTask + ".vlpr", run.FileBest + ".safetensors", run.FileBest + ".vlpr"}
		for _, name := range files {
			a, errA := os.ReadFile(filepath.Join(run.Dir(inProcess, r.Index), name))
			b, errB := os.ReadFile(filepath.Join(run.Dir(swept, r.Index), name))
			if errors.Is(errA, fs.ErrNotExist) != errors.Is(errB, fs.ErrNotExist) || !bytes.Equal(a, b) {
				t.Errorf("run %d (%s, seed %d): %s differs (%v, %v)", r.Index, r.Method, r.Seed, name, errA, errB)
			}
		}
	}
	if code, _, stderr := runVlpuda(t, "sweep", "report", swept); code != 0 {
		t.Fatalf("sweep report: exit %d, stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(swept, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep sweep.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != len(summary.Methods) || rep.Done != len(p.Runs) {
		t.Fatalf("report: %d rows, %d runs done; want %d and %d", len(rep.Rows), rep.Done, len(summary.Methods), len(p.Runs))
	}
	for k, row := range rep.Rows {
		want := summary.Results[summary.Tasks[0]][summary.Methods[k]].PerSeed
		if row.Method != summary.Methods[k] || len(want) != 2 || !slices.Equal(row.Cells[0].PerSeed, want) {
			t.Errorf("%s: the sweep's accuracies per seed are %v, the demo's (%s) %v", row.Method, row.Cells[0].PerSeed, summary.Methods[k], want)
		}
	}
}

// demoSummaryCell is the part of a cell of `vlpuda demo -json` that
// TestDemoGridIsASweep compares.
type demoSummaryCell struct {
	PerSeed []float64 `json:"accuracy_last_per_seed"`
}
