package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/internal/shapes"
	"github.com/vlpuda/vlpuda/uda"
)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in   string
		want method
		err  bool
	}{
		{"cmkd", method{uda: uda.MethodCMKD}, false},
		{"source-only", method{uda: uda.MethodSourceOnly}, false},
		{"cmkd+fixmatch+rst", method{uda: uda.MethodCMKDFixMatch, rst: true}, false},
		{"cmkd+rst-paper", method{uda: uda.MethodCMKD, rst: true}, false},
		{"source-only-long", method{uda: uda.MethodSourceOnly}, false},
		{"zero-shot", method{zeroShot: true}, false},
		{"zero-shot-clip", method{zeroShot: true}, false},
		{"cmkd-", method{}, true},
		{"dann", method{}, true},
		{"dann-cmkd", method{}, true},
	}
	for _, tt := range tests {
		got, err := parseMethod(tt.in)
		if (err != nil) != tt.err || err == nil && got != tt.want {
			t.Errorf("parseMethod(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// shapeGrid returns a grid of the tiny CLIP fixture on the shape domains.
func shapeGrid(t *testing.T) Grid {
	t.Helper()
	root := t.TempDir()
	if err := shapes.Write(root, 4); err != nil {
		t.Fatal(err)
	}
	return Grid{
		Model:  fixture.Path(t, "clip-tiny", "vit", "model.safetensors"),
		Config: fixture.Path(t, "clip-tiny", "vit", "config.json"),
		Data:   root, Preset: "office31",
		Tasks:   []Pair{{Source: "src", Target: "tgt"}},
		Methods: []string{MethodZeroShot, "cmkd+rst-low", "cmkd+rst-high"},
		Seeds:   []uint64{1},
		Overrides: map[string]float64{"epochs": 1, "iters": 2, "batch": 6, "target-batch": 6, "lr": 1e-3,
			"eval-batch": 5, "rst": 1e-4},
		MethodOverrides: map[string]map[string]float64{"cmkd+rst-high": {"rst": 1e-2, "lr": 2e-3}},
	}
}

func TestExpandNewFields(t *testing.T) {
	tests := []struct {
		name string
		edit func(g *Grid)
		want string
	}{
		{"overrides of a method not run", func(g *Grid) { g.MethodOverrides["cmkd"] = map[string]float64{"lr": 1} }, `overrides of method "cmkd"`},
		{"unknown method override", func(g *Grid) { g.MethodOverrides["cmkd+rst-high"] = map[string]float64{"tau": 1} }, `unknown override "tau"`},
		{"step sizes of a method not run", func(g *Grid) { g.StepSizes = []string{"cmkd"} }, `step sizes of method "cmkd"`},
		{"digit counts on image folders", func(g *Grid) { g.Overrides["train-images"] = 20 }, "train-images applies to dataset digits only"},
		{"unknown digit domain", func(g *Grid) {
			g.Dataset, g.Data = DatasetDigits, ""
			g.Tasks = []Pair{{Source: "fonts", Target: "svhn"}}
		}, `unknown digit domain "svhn"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := shapeGrid(t)
			tt.edit(&g)
			if _, err := Expand(g); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %s", err, tt.want)
			}
		})
	}
}

// TestPlanSettings checks that a method's overrides apply to its runs
// alone, over the grid's.
func TestPlanSettings(t *testing.T) {
	p, err := Expand(shapeGrid(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{"cmkd+rst-low": {1e-4, 1e-3}, "cmkd+rst-high": {1e-2, 2e-3}}
	for _, r := range p.Runs[1:] {
		s, err := p.Settings(r, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]float64{s.Config.RSTTau, s.Config.LR}; got != want[r.Method] {
			t.Errorf("%s: τ and lr %v, want %v", r.Method, got, want[r.Method])
		}
	}
}

// TestIndexZeroShot runs the zero-shot method of a grid on image folders:
// a result with no training and nothing stored, read back by a second
// call.
func TestIndexZeroShot(t *testing.T) {
	p, err := Expand(shapeGrid(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, cached, err := Index(context.Background(), dir, p, 0, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cached || res.Config != nil || res.Iterations != 0 || res.Stored.Params != 0 || res.Stored.TowerNumel == 0 ||
		res.Last.Images != 3*4 || res.Last.Top1 != float64(res.Last.Correct)/float64(res.Last.Images) || res.Task.Method != MethodZeroShot {
		t.Errorf("zero-shot result %+v (last %+v, stored %+v, cached %v)", res, res.Last, res.Stored, cached)
	}
	again, cached, err := Index(context.Background(), dir, p, 0, PlanOptions{})
	if err != nil || !cached || again.Last.Top1 != res.Last.Top1 {
		t.Errorf("second call: cached %v, %v, top-1 %v; want the first's %v", cached, err, again, res.Last.Top1)
	}
	if _, err := os.Stat(filepath.Join(Dir(dir, 0), FileConfusion)); err != nil {
		t.Errorf("no confusion matrix: %v", err)
	}
}
