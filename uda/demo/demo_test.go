package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/vlp"
)

// fakeReport has two tasks, three methods and two seeds.
func fakeReport() *Report {
	a, b := Task{"mnist", "mnistm"}, Task{"fonts", "mnist"}
	r := &Report{Settings: DefaultSettings(), TeacherParams: 4682585, Tasks: []Task{a, b}, Methods: []Method{ZeroShot, CMKD, CMKDRST, CMKDRSTPaper}, Seeds: []uint64{1, 2}}
	add := func(t Task, m Method, seed uint64, last, best float64, params int, bytes int64, density float64) {
		r.Runs = append(r.Runs, RunResult{RunID: RunID{t, m, seed}, AccuracyLast: last, AccuracyBest: best,
			StoredParams: params, StoredBytes: bytes, Density: density})
	}
	for _, seed := range []uint64{1, 2} {
		d := 0.02 * float64(seed) // seed 1: −0.01, seed 2: +0.01 around the mean
		add(a, ZeroShot, seed, 0.40, 0.40, 0, 0, 0)
		add(b, ZeroShot, seed, 0.60, 0.60, 0, 0, 0)
		add(a, CMKD, seed, 0.69+d, 0.75, 1000, 4000, 0)
		add(b, CMKD, seed, 0.79+d, 0.85, 1000, 4000, 0)
		add(a, CMKDRST, seed, 0.68+d, 0.70, 30, 200, 0.002)
		add(b, CMKDRST, seed, 0.78+d, 0.80, 10, 100, 0.001)
		add(a, CMKDRSTPaper, seed, 0.66+d, 0.67, 60, 400, 0.004)
		add(b, CMKDRSTPaper, seed, 0.76+d, 0.77, 20, 200, 0.002)
	}
	return r
}

func TestReportCells(t *testing.T) {
	r := fakeReport()
	tests := []struct {
		name string
		got  Cell
		want Cell
	}{
		{"zero-shot a", cell(r, r.Tasks[0], ZeroShot), Cell{AccuracyLast: 0.40, AccuracyBest: 0.40}},
		{"cmkd a", cell(r, r.Tasks[0], CMKD), Cell{AccuracyLast: 0.72, AccuracyLastStd: 0.02 / math.Sqrt2, AccuracyBest: 0.75, StoredParams: 1000, StoredBytes: 4000}},
		{"rst b", cell(r, r.Tasks[1], CMKDRST), Cell{AccuracyLast: 0.81, AccuracyLastStd: 0.02 / math.Sqrt2, AccuracyBest: 0.80, StoredParams: 10, StoredBytes: 100, Density: 0.001}},
		{"rst average", r.Average(CMKDRST), Cell{AccuracyLast: 0.76, AccuracyLastStd: 0.02 / math.Sqrt2, AccuracyBest: 0.75, StoredParams: 20, StoredBytes: 150, Density: 0.0015}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, w := tt.got, tt.want
			for _, f := range []struct {
				name string
				g, w float64
			}{
				{"accuracy_last", g.AccuracyLast, w.AccuracyLast}, {"std", g.AccuracyLastStd, w.AccuracyLastStd},
				{"accuracy_best", g.AccuracyBest, w.AccuracyBest}, {"params", g.StoredParams, w.StoredParams},
				{"bytes", g.StoredBytes, w.StoredBytes}, {"density", g.Density, w.Density},
			} {
				if math.Abs(f.g-f.w) > 1e-12 {
					t.Errorf("%s = %v, want %v", f.name, f.g, f.w)
				}
			}
		})
	}
}

func cell(r *Report, task Task, m Method) Cell {
	c, _ := r.Cell(task, m)
	return c
}

func TestReportTable(t *testing.T) {
	var buf bytes.Buffer
	if err := fakeReport().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	want := [][]string{
		{"Target accuracy", "mean ± std over 2 seeds"},
		{"Method", "mnist→mnistm", "fonts→mnist", "Avg", "params/task", "bytes/task"},
		{"mini-CLIP zero-shot (4.7 M)", "40.0±0.0", "60.0±0.0", "50.0±0.0", "0 B"},
		{"CMKD", "72.0±1.4", "82.0±1.4", "77.0±1.4", "1000", "3.9 KiB"},
		{"CMKD+RST (τ 1e-6, top 0.5 %/step cap)", "71.0±1.4", "81.0±1.4", "76.0±1.4", "20 (0.15 % of the tower)", "150 B"},
		{"CMKD+RST (paper: τ 5e-4 only)", "69.0±1.4", "79.0±1.4", "74.0±1.4", "40 (0.30 % of the tower)", "300 B"},
		{"Best epoch", "oracle", "CMKD 80.0", "CMKD+RST (τ 1e-6, top 0.5 %/step cap) 75.0", "CMKD+RST (paper: τ 5e-4 only) 72.0"},
	}
	if len(lines) < len(want) {
		t.Fatalf("table has %d lines, want at least %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, parts := range want {
		for _, p := range parts {
			if !strings.Contains(lines[i], p) {
				t.Errorf("line %d = %q, want it to contain %q", i, lines[i], p)
			}
		}
	}
}

func TestReportSummaryJSON(t *testing.T) {
	b, err := json.Marshal(fakeReport().Summary())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tasks   []string
		Labels  map[string]string
		Results map[string]map[string]map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for m, want := range map[string]string{"zero-shot": "mini-CLIP zero-shot (4.7 M)", "cmkd": "CMKD",
		"cmkd+rst": "CMKD+RST (τ 1e-6, top 0.5 %/step cap)", "cmkd+rst-paper": "CMKD+RST (paper: τ 5e-4 only)"} {
		if got.Labels[m] != want {
			t.Errorf("labels[%q] = %q, want %q", m, got.Labels[m], want)
		}
	}
	if want := []string{"mnist->mnistm", "fonts->mnist"}; strings.Join(got.Tasks, ",") != strings.Join(want, ",") {
		t.Errorf("tasks %v, want %v", got.Tasks, want)
	}
	for _, task := range []string{"mnist->mnistm", "fonts->mnist", "average"} {
		for _, m := range []string{"zero-shot", "cmkd", "cmkd+rst", "cmkd+rst-paper"} {
			c, ok := got.Results[task][m]
			if !ok {
				t.Errorf("no results[%q][%q] in %s", task, m, b)
				continue
			}
			for _, key := range []string{"accuracy_last", "accuracy_best", "stored_params", "stored_bytes"} {
				if _, ok := c[key].(float64); !ok {
					t.Errorf("results[%q][%q] has no number %q", task, m, key)
				}
			}
		}
	}
	if v, _ := got.Results["fonts->mnist"]["cmkd"]["accuracy_last"].(float64); math.Abs(v-0.82) > 1e-12 {
		t.Errorf("fonts->mnist cmkd accuracy_last = %v, want 0.82", v)
	}
}

func TestChart(t *testing.T) {
	r := fakeReport()
	img := r.Chart()
	// One group per task and the average, one bar per method; the bars
	// themselves are barchart's to test.
	groups, bars := len(r.Tasks)+1, len(r.Methods)
	if b := img.Bounds(); b.Dx() != 50+groups*(bars*18+24)+chartLegendWidth {
		t.Errorf("chart is %v for %d groups of %d bars", b, groups, bars)
	}
}

// tinyTeacher saves a random tiny model in the teacher's format.
func tinyTeacher(t *testing.T) string {
	t.Helper()
	c := vlp.Config{EmbedDim: 16, ImageResolution: 32, VisionLayers: []int{1}, VisionWidth: 64, VisionPatchSize: 16,
		ContextLength: pretrain.ContextLength, VocabSize: 49408, TransformerWidth: 16, TransformerHeads: 1, TransformerLayers: 1}
	m, err := vlp.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "teacher.safetensors")
	if err := pretrain.Save(path, m, nil, false); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyConfig runs every method on fonts→MNIST for a few iterations.
func tinyConfig(t *testing.T, teacher, out string) Config {
	return Config{
		Teacher: teacher, Out: out,
		Tasks: []Task{FallbackTask}, Methods: Methods, Seeds: []uint64{1},
		Settings: Settings{Iterations: 4, Epochs: 2, Batch: 4, LR: 1e-3, HeadLRMult: 10, Tau: 1e-4, PaperTau: 1e-4, FixMatchWeight: 0.5, FixMatchThreshold: 0.95, TrainImages: 20, TestImages: 20},
		Domains:  digits.Options{CacheDir: t.TempDir()}, // Go faces only
	}
}

// TestRun runs the demo end to end on a random tiny teacher, then checks
// that an interrupted demo continues from its cache, that a finished one
// is not replaced without Force, and that a plan change is refused.
func TestRun(t *testing.T) {
	teacher, out := tinyTeacher(t), t.TempDir()

	// Interrupt during the third run (cmkd).
	ctx, cancel := context.WithCancel(context.Background())
	cfg := tinyConfig(t, teacher, out)
	cfg.Progress = func(e run.Event) {
		if e.Step != nil && e.Run.Method == string(CMKD) && e.Step.Iter == 3 {
			cancel()
		}
	}
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted demo: error %v, want one wrapping context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(out, FileResults)); err == nil {
		t.Fatal("an interrupted demo wrote results.json")
	}

	// What a kill during writes would have left: temporary files of the
	// demo's, Adapt's and the step meter's files.
	cmkdDir := run.Dir(out, slices.Index(Methods, CMKD)) // one task, one seed
	stale := []string{
		filepath.Join(out, "."+FileResults+".tmp77"),
		filepath.Join(cmkdDir, "."+run.FileCheckpoint+".tmp9"),
		filepath.Join(cmkdDir, "."+run.FileSteps+".tmp123"),
	}
	for _, f := range stale {
		if err := os.WriteFile(f, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The rerun reads back the two finished runs, resumes cmkd from the
	// checkpoint written when it was interrupted (after iteration 3) and
	// runs the rest.
	cfg = tinyConfig(t, teacher, out)
	cached := map[Method]bool{}
	resumedAt := map[Method]int{}
	cfg.Progress = func(e run.Event) {
		m := Method(e.Run.Method)
		if e.Result != nil {
			cached[m] = e.Cached
		}
		if e.Step != nil && e.Step.Step != nil {
			if _, ok := resumedAt[m]; !ok {
				resumedAt[m] = e.Step.Iter
			}
		}
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range map[Method]bool{ZeroShot: true, SourceOnly: true, CMKD: false, CMKDRST: false, CMKDRSTPaper: false, CMKDFixMatch: false} {
		if cached[m] != want {
			t.Errorf("%s: cached %v, want %v", m, cached[m], want)
		}
	}
	if got := resumedAt[CMKD]; got != 4 {
		t.Errorf("cmkd resumed with iteration %d, want 4", got)
	}
	if len(rep.Runs) != len(Methods) {
		t.Fatalf("%d runs, want %d", len(rep.Runs), len(Methods))
	}
	for _, r := range rep.Runs {
		if r.AccuracyLast < 0 || r.AccuracyLast > 1 || r.TestImages != 20 {
			t.Errorf("%s: accuracy %v on %d images", r.Method, r.AccuracyLast, r.TestImages)
		}
		switch r.Method {
		case ZeroShot:
			if r.StoredParams != 0 || r.StoredBytes != 0 {
				t.Errorf("zero-shot stores %d params, %d bytes; want none", r.StoredParams, r.StoredBytes)
			}
		case CMKDRST, CMKDRSTPaper:
			if r.StoredParams >= r.TowerParams || r.Density >= 1 {
				t.Errorf("RST stores %d of %d tower params (density %v)", r.StoredParams, r.TowerParams, r.Density)
			}
		default:
			if r.StoredParams <= r.TowerParams || r.Iterations != 4 {
				t.Errorf("%s: stores %d params (tower %d) after %d iterations", r.Method, r.StoredParams, r.TowerParams, r.Iterations)
			}
		}
	}
	for _, name := range []string{FilePlan, FileResults, FileChart} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	for _, f := range stale {
		if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale %s survived the rerun (%v)", f, err)
		}
	}

	t.Run("refuses a finished demo", func(t *testing.T) {
		if _, err := Run(context.Background(), tinyConfig(t, teacher, out)); !errors.Is(err, ErrExists) {
			t.Errorf("error %v, want ErrExists", err)
		}
	})
	t.Run("refuses another plan", func(t *testing.T) {
		if err := os.Remove(filepath.Join(out, FileResults)); err != nil {
			t.Fatal(err)
		}
		cfg := tinyConfig(t, teacher, out)
		cfg.Settings.LR = 2e-3
		if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrExists) {
			t.Errorf("error %v, want ErrExists", err)
		}
	})
	t.Run("refuses a folder that holds something else", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		if _, err := Run(context.Background(), tinyConfig(t, teacher, dir)); !errors.Is(err, ErrExists) {
			t.Errorf("error %v, want ErrExists", err)
		}
	})
	t.Run("refuses the validation task", func(t *testing.T) {
		cfg := tinyConfig(t, teacher, t.TempDir())
		cfg.Tasks = []Task{ValidationTask}
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "validation") {
			t.Errorf("error %v, want one naming the validation task", err)
		}
	})
}

// TestFallback checks that MNIST→MNIST-M becomes fonts→MNIST, with a
// note, where MNIST-M cannot be built.
func TestFallback(t *testing.T) {
	cfg := Config{Tasks: []Task{MainTask}, Available: func(d string) error {
		if d == digits.MNISTM {
			return digits.ErrNotFetched
		}
		return nil
	}}
	if err := cfg.resolveTasks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tasks) != 1 || cfg.Tasks[0] != FallbackTask {
		t.Errorf("tasks %v, want [%v]", cfg.Tasks, FallbackTask)
	}
	if len(cfg.notes) != 1 || !strings.Contains(cfg.notes[0], "MNIST-M") {
		t.Errorf("notes %q, want one about MNIST-M", cfg.notes)
	}
	full := Config{Tasks: FullTasks, Available: cfg.Available}
	if err := full.resolveTasks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(full.Tasks) != 2 {
		t.Errorf("full tasks %v, want the two without MNIST-M", full.Tasks)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Settings)
		ok   bool
	}{
		{"default", func(*Settings) {}, true},
		{"quick", func(s *Settings) { *s = QuickSettings() }, true},
		{"iterations not a multiple of epochs", func(s *Settings) { s.Iterations = 601 }, false},
		{"zero tau", func(s *Settings) { s.Tau = 0 }, false},
		{"zero paper tau", func(s *Settings) { s.PaperTau = 0 }, false},
		{"NaN paper tau", func(s *Settings) { s.PaperTau = math.NaN() }, false},
		{"density 1", func(s *Settings) { s.MaxDensity = 1 }, false},
		{"negative FixMatch weight", func(s *Settings) { s.FixMatchWeight = -0.5 }, false},
		{"NaN FixMatch weight", func(s *Settings) { s.FixMatchWeight = math.NaN() }, false},
		{"FixMatch threshold above 1", func(s *Settings) { s.FixMatchThreshold = 1.5 }, false},
		{"FixMatch threshold 0", func(s *Settings) { s.FixMatchThreshold = 0 }, true},
	} {
		s := DefaultSettings()
		tc.edit(&s)
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestSettingsConfigFixMatch(t *testing.T) {
	s := DefaultSettings()
	s.FixMatchWeight, s.FixMatchThreshold = 1.25, 0.8
	c := s.Config(CMKDFixMatch, 3)
	if o := c.Objective; o.FixMatchWeight != 1.25 || o.FixMatchThreshold != 0.8 {
		t.Errorf("cmkd+fixmatch objective λ_fm %g, τ_fm %g; want 1.25, 0.8", o.FixMatchWeight, o.FixMatchThreshold)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("cmkd+fixmatch config: %v", err)
	}
	if c := s.Config(CMKD, 3); c.Objective.Method != uda.MethodCMKD {
		t.Errorf("cmkd objective method %v, want %v", c.Objective.Method, uda.MethodCMKD)
	}
}

// TestSettingsConfigRST checks that the capped RST row gets τ and the
// cap, the paper's row its own τ and no cap, and the other methods no RST.
func TestSettingsConfigRST(t *testing.T) {
	s := DefaultSettings()
	s.Tau, s.MaxDensity, s.PaperTau = 1e-6, 0.005, 3e-4
	for _, tc := range []struct {
		m          Method
		tau, cap   float64
		objectiveM uda.Method
	}{
		{CMKDRST, 1e-6, 0.005, uda.MethodCMKD},
		{CMKDRSTPaper, 3e-4, 0, uda.MethodCMKD},
		{CMKD, 0, 0, uda.MethodCMKD},
		{CMKDFixMatch, 0, 0, uda.MethodCMKDFixMatch},
		{SourceOnly, 0, 0, uda.MethodSourceOnly},
	} {
		c := s.Config(tc.m, 1)
		if c.RSTTau != tc.tau || c.RSTMaxDensity != tc.cap || c.Objective.Method != tc.objectiveM {
			t.Errorf("%s: τ %g, cap %g, objective %v; want %g, %g, %v", tc.m, c.RSTTau, c.RSTMaxDensity, c.Objective.Method, tc.tau, tc.cap, tc.objectiveM)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", tc.m, err)
		}
	}
	// The paper's row is the capped row with the cap off and its τ: the
	// validation runs that chose PaperTau ran it so (PROTOCOL.md).
	off := s
	off.Tau, off.MaxDensity = s.PaperTau, 0
	if a, b := s.Config(CMKDRSTPaper, 2), off.Config(CMKDRST, 2); !reflect.DeepEqual(a, b) {
		t.Errorf("cmkd+rst-paper config %+v differs from cmkd+rst without a cap %+v", a, b)
	}
}

// TestLabels checks the rows' names: the zero-shot row names the mini-CLIP
// and its size, each RST row its τ and cap, from the report's settings.
func TestLabels(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Report)
		m    Method
		want string
	}{
		{"zero-shot", func(*Report) {}, ZeroShot, "mini-CLIP zero-shot (4.7 M)"},
		{"zero-shot, size unknown", func(r *Report) { r.TeacherParams = 0 }, ZeroShot, "mini-CLIP zero-shot"},
		{"capped RST", func(*Report) {}, CMKDRST, "CMKD+RST (τ 1e-6, top 0.5 %/step cap)"},
		{"capped RST, other cap", func(r *Report) { r.Settings.Tau, r.Settings.MaxDensity = 2.5e-4, 0.001 }, CMKDRST, "CMKD+RST (τ 2.5e-4, top 0.1 %/step cap)"},
		{"RST without a cap", func(r *Report) { r.Settings.MaxDensity = 0 }, CMKDRST, "CMKD+RST (τ 1e-6, no cap)"},
		{"paper's RST", func(*Report) {}, CMKDRSTPaper, "CMKD+RST (paper: τ 5e-4 only)"},
		{"paper's RST, other τ", func(r *Report) { r.Settings.PaperTau = 1e-5 }, CMKDRSTPaper, "CMKD+RST (paper: τ 1e-5 only)"},
		{"FixMatch", func(*Report) {}, CMKDFixMatch, "CMKD+FixMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeReport()
			tt.edit(r)
			if got := r.Label(tt.m); got != tt.want {
				t.Errorf("Label(%s) = %q, want %q", tt.m, got, tt.want)
			}
		})
	}
}

// TestTeacherGateRecord checks which gate records in a teacher's metadata
// the demo accepts: none, or a passing one measured on MNIST's held-out
// training images; a record of the earlier gate on MNIST test, a target of
// the demo, is refused with the command that measures it again.
func TestTeacherGateRecord(t *testing.T) {
	m, _, err := pretrain.Load(tinyTeacher(t))
	if err != nil {
		t.Fatal(err)
	}
	pass := pretrain.GateResult{HeldOut: 0.95, HeldOutImages: 1000, MNISTHeldOut: 0.7, MNISTHeldOutImages: 10000, PromptCosine: 0.5}
	fail := pass
	fail.MNISTHeldOut = 0.85
	record := func(r pretrain.GateResult) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		record string // "": none
		want   string // a part of the error; "" to pass
	}{
		{"no record", "", ""},
		{"passing record", record(pass), ""},
		{"failing record", record(fail), "teacher fails the gate"},
		{"record of the MNIST-test gate", `{"heldout_accuracy":0.952,"heldout_images":1000,"mnist_accuracy":0.7731,"mnist_images":10000,"prompt_max_cosine":0.54}`, "check-teacher -write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := map[string]string{}
			if tc.record != "" {
				meta[pretrain.GateKey] = tc.record
			}
			path := filepath.Join(t.TempDir(), "teacher.safetensors")
			if err := pretrain.Save(path, m, meta, false); err != nil {
				t.Fatal(err)
			}
			got, err := readTeacher(path)
			switch {
			case tc.want == "" && (err != nil || got.size != m.Config.ImageResolution):
				t.Errorf("readTeacher: size %d, %v; want %d and no error", got.size, err, m.Config.ImageResolution)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("readTeacher: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestGridSettings checks that every trained run of the demo's grid gets
// the configuration Settings.Config gives its method and seed, and the
// demo's batch and image counts.
func TestGridSettings(t *testing.T) {
	cfg := tinyConfig(t, tinyTeacher(t), t.TempDir())
	cfg.Seeds = []uint64{1, 2}
	cfg.Settings = DefaultSettings()
	g, err := cfg.Grid()
	if err != nil {
		t.Fatal(err)
	}
	p, err := run.Expand(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Runs) != len(Methods)*2 {
		t.Fatalf("%d runs, want %d", len(p.Runs), len(Methods)*2)
	}
	s := cfg.Settings
	for _, r := range p.Runs {
		m := Method(r.Method)
		if m == ZeroShot {
			continue
		}
		got, err := p.Settings(r, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := s.Config(m, r.Seed); !reflect.DeepEqual(got.Config, want) {
			t.Errorf("%s, seed %d: config\n%+v\nwant\n%+v", m, r.Seed, got.Config, want)
		}
		if got.Preset.SourceBatch != s.Batch || got.Preset.TargetBatch != s.Batch || got.TrainImages != s.TrainImages || got.TestImages != s.TestImages {
			t.Errorf("%s: batches %d and %d, %d and %d images; want %d, %d and %d", m, got.Preset.SourceBatch, got.Preset.TargetBatch,
				got.TrainImages, got.TestImages, s.Batch, s.TrainImages, s.TestImages)
		}
	}
}

// TestEarlierDemoFolder checks that the folder of an unfinished demo
// made before the demo was a sweep is refused with a message that says
// so, and that -force starts over in it.
func TestEarlierDemoFolder(t *testing.T) {
	teacher, out := tinyTeacher(t), t.TempDir()
	old := `{"teacher_fingerprint": "00", "tasks": [], "methods": [], "seeds": [1], "settings": {}, "mnistm_seed": 0}` + "\n"
	if err := os.WriteFile(filepath.Join(out, FilePlan), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t, teacher, out)
	cfg.Methods = []Method{ZeroShot}
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "earlier vlpuda") {
		t.Fatalf("error %v, want ErrExists saying the folder is of an earlier vlpuda", err)
	}
	cfg.Force = true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("-force: %v", err)
	}
}
