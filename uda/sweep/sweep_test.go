package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/internal/seedstat"
	"github.com/vlpuda/vlpuda/internal/shapes"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/run"
)

// tinyGrid returns a grid on the tiny CLIP fixture and the shape domains,
// with two epochs of three iterations per run.
func tinyGrid(t *testing.T) run.Grid {
	t.Helper()
	root := t.TempDir()
	if err := shapes.Write(root, 4); err != nil {
		t.Fatal(err)
	}
	return run.Grid{
		Model:  fixture.Path(t, "clip-tiny", "vit", "model.safetensors"),
		Config: fixture.Path(t, "clip-tiny", "vit", "config.json"),
		Data:   root, Preset: "office31",
		Tasks:   []run.Pair{{Source: "src", Target: "tgt"}},
		Methods: []string{"cmkd", "source-only+rst"},
		Seeds:   []uint64{1, 2},
		Threads: 1,
		Overrides: map[string]float64{"epochs": 2, "iters": 3, "batch": 6, "target-batch": 6, "lr": 1e-3,
			"head-lr-mult": 30, "ramp-iters": 6, "eval-batch": 8, "rst": 1e-4},
	}
}

func TestExpandBadInput(t *testing.T) {
	base := tinyGrid(t)
	tests := []struct {
		name string
		edit func(g *run.Grid)
		want string
	}{
		{"unknown method", func(g *run.Grid) { g.Methods = []string{"cmkd", "dann"} }, `unknown method "dann"`},
		{"missing domain", func(g *run.Grid) { g.Tasks = []run.Pair{{Source: "src", Target: "nowhere"}} }, "domain nowhere"},
		{"same domain", func(g *run.Grid) { g.Tasks = []run.Pair{{Source: "src", Target: "src"}} }, "two different domains"},
		{"unknown override", func(g *run.Grid) { g.Overrides = map[string]float64{"epoch": 1} }, `unknown override "epoch"`},
		{"fractional count", func(g *run.Grid) { g.Overrides = map[string]float64{"epochs": 2.5} }, "override epochs 2.5: want a whole number"},
		{"unknown preset", func(g *run.Grid) { g.Preset = "office32" }, `unknown preset "office32"`},
		{"no model", func(g *run.Grid) { g.Model = filepath.Join(t.TempDir(), "none.safetensors") }, "none.safetensors"},
		{"no tasks", func(g *run.Grid) { g.Tasks = nil }, "no tasks"},
		{"one domain for all pairs", func(g *run.Grid) { g.Tasks, g.Domains, g.AllPairs = nil, []string{"src"}, true }, "two domains"},
		{"task twice", func(g *run.Grid) { g.Domains, g.AllPairs = []string{"src", "tgt"}, true }, "task src→tgt given twice"},
		{"seed twice", func(g *run.Grid) { g.Seeds = []uint64{1, 1} }, "seed 1 given twice"},
		{"no seeds", func(g *run.Grid) { g.Seeds = nil }, "one seed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := base
			tt.edit(&g)
			_, err := run.Expand(g)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run.Expand: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestExpandAllPairs(t *testing.T) {
	g := tinyGrid(t)
	g.Tasks, g.Domains, g.AllPairs = nil, []string{"src", "tgt"}, true
	p, err := run.Expand(g)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Runs {
		got = append(got, fmt.Sprintf("%d %s %s %d", r.Index, r.Task, r.Method, r.Seed))
	}
	var want []string
	for _, task := range []string{"src→tgt", "tgt→src"} {
		for _, m := range g.Methods {
			for _, s := range g.Seeds {
				want = append(want, fmt.Sprintf("%d %s %s %d", len(want), task, m, s))
			}
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWritePlanRefusesAnotherGrid(t *testing.T) {
	g := tinyGrid(t)
	dir := t.TempDir()
	p, err := run.Expand(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.WritePlan(dir, p); err != nil {
		t.Fatal(err)
	}
	if err := run.WritePlan(dir, p); err != nil {
		t.Fatalf("the same plan again: %v", err)
	}
	g.Seeds = []uint64{1, 2, 3}
	other, err := run.Expand(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.WritePlan(dir, other); err == nil || !strings.Contains(err.Error(), "another grid") {
		t.Fatalf("another grid's plan: %v, want a refusal", err)
	}
	back, err := run.ReadPlan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(p.Runs) {
		t.Errorf("plan.json has %d runs after the refusal, want %d", len(back.Runs), len(p.Runs))
	}
}

// planned writes the plan of g into a new sweep folder.
func planned(t *testing.T, g run.Grid) (string, *run.Plan) {
	t.Helper()
	dir := t.TempDir()
	p, err := run.Expand(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.WritePlan(dir, p); err != nil {
		t.Fatal(err)
	}
	return dir, p
}

func TestRunIndexOutOfRange(t *testing.T) {
	dir, p := planned(t, tinyGrid(t))
	for _, i := range []int{-1, len(p.Runs)} {
		_, err := RunIndex(context.Background(), dir, p, i, run.PlanOptions{})
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("index %d: %v, want out of range", i, err)
		}
	}
}

// TestRunResume stops a run in its second epoch, as a SIGTERM does, and
// checks that the next start resumes it to the bytes of an uninterrupted
// run, that a finished run returns at once, and the states on the way.
func TestRunResume(t *testing.T) {
	g := tinyGrid(t)
	for _, i := range []int{0, 2} { // cmkd, and source-only with RST
		t.Run(g.Methods[i/2], func(t *testing.T) {
			whole, p := planned(t, g)
			if _, err := RunIndex(context.Background(), whole, p, i, run.PlanOptions{}); err != nil {
				t.Fatal(err)
			}

			dir, _ := planned(t, g)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var notes []string
			stop := func(e run.Event) {
				if pr := e.Step; pr != nil && pr.Step != nil && pr.Iter == 4 {
					cancel()
				}
				if e.Note != "" {
					notes = append(notes, e.Note)
				}
			}
			if _, err := RunIndex(ctx, dir, p, i, run.PlanOptions{Progress: stop}); !errors.Is(err, context.Canceled) {
				t.Fatalf("stopped run: %v, want context.Canceled", err)
			}
			assertState(t, dir, p, i, Pending, "resumes from its checkpoint")
			var steps int
			count := func(e run.Event) {
				if e.Step != nil && e.Step.Step != nil {
					steps++
				}
				if e.Note != "" {
					notes = append(notes, e.Note)
				}
			}
			res, err := RunIndex(context.Background(), dir, p, i, run.PlanOptions{Progress: count})
			if err != nil {
				t.Fatal(err)
			}
			if res == nil || res.Iterations != 6 || steps != 2 {
				t.Fatalf("resumed run: result %v, %d iterations in this call; want the last 2 of 6", res != nil, steps)
			}
			if !strings.Contains(strings.Join(notes, "\n"), "resuming from") {
				t.Errorf("notes %q do not say the run resumed", notes)
			}
			ext := ".safetensors"
			if i == 2 {
				ext = ".vlpr"
			}
			for _, name := range []string{run.FileTask + ext, run.FileBest + ext, run.FileConfusion} {
				a, errA := os.ReadFile(filepath.Join(run.Dir(whole, i), name))
				b, errB := os.ReadFile(filepath.Join(run.Dir(dir, i), name))
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Errorf("%s differs from the uninterrupted run's (%v, %v)", name, errA, errB)
				}
			}
			assertState(t, dir, p, i, Done, "")
			if res, err := RunIndex(context.Background(), dir, p, i, run.PlanOptions{}); res != nil || err != nil {
				t.Errorf("a finished run ran again: %v, %v", res, err)
			}
		})
	}
}

func assertState(t *testing.T, dir string, p *run.Plan, i int, want State, detail string) {
	t.Helper()
	st, err := ReadStatus(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if st[i].State != want || !strings.Contains(st[i].Detail, detail) {
		t.Errorf("run %d: %s (%s), want %s (%s)", i, st[i].State, st[i].Detail, want, detail)
	}
}

func TestRunFailureStatus(t *testing.T) {
	g := tinyGrid(t)
	dir, p := planned(t, g)
	// The domain disappears after planning.
	if err := os.RemoveAll(filepath.Join(g.Data, "tgt")); err != nil {
		t.Fatal(err)
	}
	_, err := RunIndex(context.Background(), dir, p, 1, run.PlanOptions{})
	if err == nil {
		t.Fatal("a run without its target domain succeeded")
	}
	assertState(t, dir, p, 1, Failed, "tgt")
	assertState(t, dir, p, 0, Pending, "")
}

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestLock(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		holder string
		locked bool
	}{
		{"live process", fmt.Sprintf("%d %s\n", os.Getpid(), host), true},
		{"other host", "1 elsewhere.example\n", true},
		{"dead process", fmt.Sprintf("%d %s\n", deadPID(t), host), false},
		{"empty lock", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			path := filepath.Join(out, FileLock)
			if err := os.WriteFile(path, []byte(tt.holder), 0o644); err != nil {
				t.Fatal(err)
			}
			unlock, err := lock(out, nil)
			if tt.locked {
				if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "remove "+path) {
					t.Fatalf("lock held by %q: %v, want ErrLocked saying what to remove", tt.holder, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stale lock %q: %v", tt.holder, err)
			}
			b, _ := os.ReadFile(path)
			if want := fmt.Sprintf("%d %s\n", os.Getpid(), host); string(b) != want {
				t.Errorf("lock holds %q, want %q", b, want)
			}
			unlock()
			if _, err := os.Stat(path); err == nil {
				t.Error("unlock left the lock file")
			}
		})
	}
}

func TestRunLocked(t *testing.T) {
	dir, p := planned(t, tinyGrid(t))
	out := run.Dir(dir, 0)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if err := os.WriteFile(filepath.Join(out, FileLock), fmt.Appendf(nil, "%d %s\n", os.Getpid(), host), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RunIndex(context.Background(), dir, p, 0, run.PlanOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("RunIndex on a locked run: %v, want ErrLocked", err)
	}
	assertState(t, dir, p, 0, Running, fmt.Sprintf("process %d", os.Getpid()))
}

// writeResult stores a result.json for run i with the given last and
// best top-1 accuracy.
func writeResult(t *testing.T, dir string, i int, last, best float64, params int64) {
	t.Helper()
	r := run.Result{
		Config: &uda.Config{Metric: uda.MetricTop1},
		Last:   &run.EpochResult{Evaluation: &uda.Evaluation{Top1: last}},
		Best:   &run.EpochResult{Evaluation: &uda.Evaluation{Top1: best}},
		Stored: &uda.StoredTask{Params: int(params), Bytes: 4 * params},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(run.Dir(dir, i), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run.Dir(dir, i), run.FileResult), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReport(t *testing.T) {
	g := tinyGrid(t)
	g.Tasks, g.Domains, g.AllPairs = nil, []string{"src", "tgt"}, true
	dir, p := planned(t, g)
	// Every run but the last (tgt→src, source-only+rst, seed 2) finished,
	// with accuracies made from its index.
	acc := func(i int) (float64, float64) { return 0.5 + 0.01*float64(i), 0.6 + 0.02*float64(i) }
	for i := range len(p.Runs) - 1 {
		last, best := acc(i)
		writeResult(t, dir, i, last, best, int64(100+i))
	}
	rep, err := ReadReport(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Done != len(p.Runs)-1 || rep.Planned != len(p.Runs) {
		t.Errorf("done %d of %d, want %d of %d", rep.Done, rep.Planned, len(p.Runs)-1, len(p.Runs))
	}
	for _, r := range p.Runs {
		row := rep.Rows[slicesIndex(g.Methods, r.Method)]
		cell := row.Cells[slicesIndex(rep.Tasks, r.Task.String())]
		if r.Index/2 == len(p.Runs)/2-1 { // the incomplete cell
			if cell.Last != nil || cell.Best != nil || cell.Finished != 1 || cell.Planned != 2 {
				t.Errorf("incomplete cell %s %s: %+v", r.Method, r.Task, cell)
			}
			if row.Average.Last != nil {
				t.Errorf("%s: an average over an incomplete row: %+v", r.Method, row.Average.Last)
			}
			continue
		}
		first := r.Index - r.Index%2
		l0, b0 := acc(first)
		l1, b1 := acc(first + 1)
		want := Stat{(l0 + l1) / 2, seedstat.Std([]float64{l0, l1})}
		wantBest := Stat{(b0 + b1) / 2, seedstat.Std([]float64{b0, b1})}
		if !near(*cell.Last, want) || !near(*cell.Best, wantBest) {
			t.Errorf("cell %s %s: last %+v best %+v, want %+v %+v", r.Method, r.Task, *cell.Last, *cell.Best, want, wantBest)
		}
	}
	// The complete row's average: per seed over the tasks, then over seeds.
	avg := rep.Rows[0].Average.Last
	s1 := (0.5 + 0.01*0 + 0.5 + 0.01*4) / 2
	s2 := (0.5 + 0.01*1 + 0.5 + 0.01*5) / 2
	if avg == nil || !near(*avg, Stat{(s1 + s2) / 2, seedstat.Std([]float64{s1, s2})}) {
		t.Errorf("average of %s: %+v", rep.Rows[0].Method, avg)
	}

	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| method | src→tgt | tgt→src | average | stored per task |", "missing (1/2 runs)",
		"an oracle", fmt.Sprintf("%.1f ± %.1f", 100*avg.Mean, 100*avg.Std), "7 of 8 runs finished"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Rows[1].Cells[1].Last != nil || back.Rows[0].Cells[1].Last == nil {
		t.Errorf("JSON: missing and complete cells not kept apart:\n%s", js.String())
	}
	var png bytes.Buffer
	if err := rep.WritePNG(&png); err != nil || !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Errorf("WritePNG: %v, %d bytes", err, png.Len())
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func near(a, b Stat) bool {
	const eps = 1e-12
	return abs(a.Mean-b.Mean) < eps && abs(a.Std-b.Std) < eps
}

func abs(x float64) float64 { return max(x, -x) }

func TestSbatch(t *testing.T) {
	dir, p := planned(t, tinyGrid(t))
	s := Sbatch(dir, p, Cluster{Vlpuda: "/opt/vlpuda bin/vlpuda", Parallel: 3, GraceSeconds: 90, MemoryMiB: 2048})
	for _, want := range []string{
		"#!/bin/bash\n",
		fmt.Sprintf("#SBATCH --array=0-%d%%3\n", len(p.Runs)-1),
		"#SBATCH --requeue\n",
		"#SBATCH --signal=B:TERM@90\n",
		"#SBATCH --cpus-per-task=1\n",
		"#SBATCH --mem=2048M\n",
		fmt.Sprintf("exec '/opt/vlpuda bin/vlpuda' sweep run %s -index \"$SLURM_ARRAY_TASK_ID\"\n", shellQuote(dir)),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("sbatch lacks %q:\n%s", want, s)
		}
	}
}

func TestReportMetricBeforeAnyRun(t *testing.T) {
	tests := []struct{ preset, want string }{
		{"office31", "Target top-1 accuracy"},
		{"visda", "Target mean per-class accuracy"},
	}
	for _, tt := range tests {
		g := tinyGrid(t)
		g.Preset = tt.preset
		dir, p := planned(t, g)
		rep, err := ReadReport(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		var md bytes.Buffer
		if err := rep.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), tt.want) {
			t.Errorf("%s: the report does not begin %q:\n%s", tt.preset, tt.want, md.String())
		}
	}
}
