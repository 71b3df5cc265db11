package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// readLog returns the log's records as maps, without the timing fields.
func readLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, k := range TimingFields {
			delete(rec, k)
		}
		out = append(out, rec)
	}
	return out
}

// iterLoss returns the mean of a loss term in each iteration record.
func iterLoss(recs []map[string]any, term string) []float64 {
	var out []float64
	for _, r := range recs {
		if r["type"] == "iter" {
			out = append(out, r["loss"].(map[string]any)[term].(float64))
		}
	}
	return out
}

func TestAdaptMethods(t *testing.T) {
	for _, m := range []uda.Method{uda.MethodSourceOnly, uda.MethodCMKD, uda.MethodFixMatch, uda.MethodCMKDFixMatch} {
		t.Run(m.String(), func(t *testing.T) {
			cfg := testConfig(m)
			cfg.Epochs = 4
			dir := t.TempDir()
			res, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 7), cfg, Options{Out: dir})
			if err != nil {
				t.Fatal(err)
			}
			recs := readLog(t, filepath.Join(dir, FileLog))
			cls := iterLoss(recs, "cls")
			if len(cls) != 8 {
				t.Fatalf("%d iteration records, want 8", len(cls))
			}
			// The first record against the mean of the second half: with
			// label smoothing 0.1 the cross-entropy of 3 classes cannot go
			// below 0.29, which it nears within a few iterations, and then
			// moves about as the target terms pull the shared tower.
			first, later := cls[0], (cls[4]+cls[5]+cls[6]+cls[7])/4
			t.Logf("cls %.3f → %.3f (records %.3f); top-1 %.3f last, %.3f best (epoch %d)", first, later, cls, res.Last.Top1, res.Best.Top1, res.Best.Epoch)
			if !(later < 0.8*first) {
				t.Errorf("source cross-entropy went from %.4f to %.4f on average; want it to fall by a fifth at least", first, later)
			}
			wantTerms := map[uda.Method][]string{
				uda.MethodSourceOnly:   {"cls", "total"},
				uda.MethodCMKD:         {"cls", "distill", "reg_ce", "reg_gi", "task", "total"},
				uda.MethodFixMatch:     {"cls", "fm_head", "fm_teacher", "total"},
				uda.MethodCMKDFixMatch: {"cls", "distill", "fm_head", "fm_teacher", "reg_ce", "reg_gi", "task", "total"},
			}[m]
			for _, r := range recs {
				if r["type"] != "iter" {
					continue
				}
				var names []string
				for name, v := range r["loss"].(map[string]any) {
					names = append(names, name)
					if f := v.(float64); math.IsNaN(f) || math.IsInf(f, 0) {
						t.Errorf("iteration %v: %s = %v", r["iter"], name, f)
					}
				}
				slices.Sort(names)
				if !slices.Equal(names, wantTerms) {
					t.Fatalf("terms %v, want %v", names, wantTerms)
				}
				if _, ok := r["alpha_mean"]; ok != m.Distills() {
					t.Errorf("alpha_mean present %v, want %v", ok, m.Distills())
				}
				if _, ok := r["mask_rate_head"]; ok != m.UsesStrongView() {
					t.Errorf("mask_rate_head present %v, want %v", ok, m.UsesStrongView())
				}
			}
			if len(res.History) != 4 || res.Last.Epoch != 4 || res.Iterations != 16 {
				t.Errorf("history %d epochs, last epoch %d, %d iterations; want 4, 4, 16", len(res.History), res.Last.Epoch, res.Iterations)
			}
			trace, sum := 0, 0
			for i, row := range res.Last.Confusion {
				trace += row[i]
				for _, n := range row {
					sum += n
				}
			}
			if trace != res.Last.Correct || sum != res.Last.Images || res.Last.Images != 24 {
				t.Errorf("confusion trace %d, sum %d; want %d correct of %d images (24)", trace, sum, res.Last.Correct, res.Last.Images)
			}
			if !strings.Contains(res.BestSelection, "oracle") {
				t.Errorf("best selection %q does not say it is an oracle", res.BestSelection)
			}
			for _, name := range []string{FileResult, FileConfusion, FilePlot, FileCheckpoint, FileTask + ".safetensors", FileBest + ".safetensors"} {
				if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// tensorsOf reads a safetensors file's tensors as float32 bits by name.
func tensorsOf(t *testing.T, path string) (map[string][]float32, map[string]string) {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, x := range f.Tensors {
		out[x.Name] = x.Float32()
	}
	return out, f.Metadata
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestAdaptResume(t *testing.T) {
	const m = uda.MethodCMKDFixMatch
	cfg := testConfig(m)
	cfg.RSTTau = 1e-4
	// interrupted runs the run in dir and cancels it after iteration n.
	interrupted := func(n int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := func(e Event) {
				if p := e.Step; p != nil && p.Step != nil && p.Iter == n {
					cancel()
				}
			}
			_, err := Adapt(ctx, loadTiny(t), testTask(t, m, 6, 3), cfg, Options{Out: dir, Progress: stop})
			if want := fmt.Sprintf("after iteration %d", n); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one saying it stopped %s, wrapping context.Canceled", err, want)
			}
		}
	}
	straight := t.TempDir()
	if _, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 3), cfg, Options{Out: straight}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// first runs the first part of the run in dir.
		first func(t *testing.T, dir string)
	}{
		{"after an epoch", func(t *testing.T, dir string) {
			short := cfg
			short.Epochs = 1
			if _, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 3), short, Options{Out: dir}); err != nil {
				t.Fatal(err)
			}
		}},
		{"killed before the first checkpoint", func(t *testing.T, dir string) {
			// What a SIGKILL in epoch 1 leaves: a partial log, a best
			// task file and half a checkpoint.
			for name, data := range map[string]string{FileLog: `{"type":"iter"`, FileBest + ".vlpr": "VLPR", "." + FileCheckpoint + ".tmp42": "half"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"interrupted mid-epoch", interrupted(7)},
		{"interrupted in the first epoch", interrupted(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.first(t, dir)
			stale := filepath.Join(dir, "."+FileCheckpoint+".tmp1234")
			if err := os.WriteFile(stale, []byte("half a checkpoint"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 3), cfg, Options{Out: dir, Resume: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the stale %s survived the resume (%v)", stale, err)
			}
			a, _ := tensorsOf(t, filepath.Join(straight, FileCheckpoint))
			b, _ := tensorsOf(t, filepath.Join(dir, FileCheckpoint))
			if len(a) != len(b) {
				t.Fatalf("checkpoints hold %d and %d tensors", len(a), len(b))
			}
			for name, x := range a {
				if !sameBits(x, b[name]) {
					t.Errorf("tensor %s differs between the straight and the resumed run", name)
				}
			}
			la, lb := readLog(t, filepath.Join(straight, FileLog)), readLog(t, filepath.Join(dir, FileLog))
			ja, _ := json.Marshal(la)
			jb, _ := json.Marshal(lb)
			if string(ja) != string(jb) {
				t.Errorf("logs differ:\nstraight %s\n resumed %s", ja, jb)
			}
			ra, _ := os.ReadFile(filepath.Join(straight, FileTask+".vlpr"))
			rb, _ := os.ReadFile(filepath.Join(dir, FileTask+".vlpr"))
			if string(ra) != string(rb) {
				t.Errorf("residual files differ")
			}
		})
	}
}

func TestAdaptRST(t *testing.T) {
	const m = uda.MethodCMKD
	cfg := testConfig(m)
	cfg.RSTTau = 2e-4
	dir := t.TempDir()
	res, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 5), cfg, Options{Out: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Count the changed elements from the weights themselves: the trained
	// tower is in the checkpoint, the base in the fixture.
	trained, _ := tensorsOf(t, filepath.Join(dir, FileCheckpoint))
	base := loadTiny(t)
	changed := 0
	for _, p := range nn.NamedParams(base.Visual) {
		w, w0 := trained["visual."+p.Name], p.Tensor.Data()
		for i := range w0 {
			if math.Float32bits(w[i]) != math.Float32bits(w0[i]) {
				changed++
				if d := math.Abs(float64(w[i] - w0[i])); d <= cfg.RSTTau {
					t.Errorf("%s[%d] differs from w0 by %g ≤ τ", p.Name, i, d)
				}
			}
		}
	}
	t.Logf("%d of %d tower elements changed (%.3f %%), %d bytes, %.2f bytes per non-zero",
		changed, res.Stored.TowerNumel, 100*res.Stored.Density, res.Stored.Bytes, res.Stored.BytesPerNonZero)
	if changed == 0 || changed == res.Stored.TowerNumel {
		t.Errorf("%d of %d elements changed; want some but not all (adjust τ)", changed, res.Stored.TowerNumel)
	}
	if res.RST.NonZero != changed || res.Stored.TowerNonZero != changed {
		t.Errorf("density reports %d and task file %d non-zeros; the weights have %d", res.RST.NonZero, res.Stored.TowerNonZero, changed)
	}
	recs := readLog(t, filepath.Join(dir, FileLog))
	var lastNZ float64
	for _, r := range recs {
		if r["type"] == "iter" {
			lastNZ = r["rst_nonzero"].(float64)
		}
	}
	if int(lastNZ) != changed {
		t.Errorf("last log record has %v non-zeros, want %d", lastNZ, changed)
	}

	// The residual over a fresh base model reproduces the last epoch's
	// evaluation exactly.
	task, err := uda.LoadTask(base, filepath.Join(dir, FileTask+".vlpr"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range nn.NamedParams(base.Visual) {
		if !sameBits(p.Tensor.Data(), trained["visual."+p.Name]) {
			t.Errorf("%s after applying the residual differs from the trained weights", p.Name)
		}
	}
	tt := testTask(t, m, 6, 5)
	ev, err := uda.Evaluate(base, task.Head, task.Info.Classes, tt.Test, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Correct != res.Last.Correct || !slices.EqualFunc(ev.Confusion, res.Last.Confusion, slices.Equal) {
		t.Errorf("stored task: %d correct, confusion %v; last epoch %d, %v", ev.Correct, ev.Confusion, res.Last.Correct, res.Last.Confusion)
	}
	if task.Info.Epoch != 3 || !slices.Equal(task.Info.Classes, shapeClasses) || task.Info.Method != "cmkd" {
		t.Errorf("task info %+v", task.Info)
	}
	sum, err := rst.Inspect(filepath.Join(dir, FileTask+".vlpr"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.NonZero != changed {
		t.Errorf("residual file holds %d non-zeros, want %d", sum.NonZero, changed)
	}
}

// poisoned is a Source whose batches from the n-th on hold a NaN.
type poisoned struct {
	uda.Source
	n, calls int
}

func (p *poisoned) Next() (uda.Batch, error) {
	b, err := p.Source.Next()
	p.calls++
	if err == nil && p.calls >= p.n {
		b.Images.Data()[5] = float32(math.NaN())
	}
	return b, err
}

func TestAdaptDiverged(t *testing.T) {
	tests := []struct {
		name     string
		poison   int     // the source's batch that holds a NaN, 0 for none
		lr       float64 // 0 keeps testConfig's
		wantIter int     // 0: any
		wantTerm string
	}{
		{"poisoned image", 6, 0, 6, "cls"},
		{"huge learning rate", 0, 3, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const m = uda.MethodCMKD
			cfg := testConfig(m)
			if tt.lr > 0 {
				cfg.LR = tt.lr
			}
			task := testTask(t, m, 6, 9)
			if tt.poison > 0 {
				task.Source = &poisoned{Source: task.Source, n: tt.poison}
			}
			dir := t.TempDir()
			_, err := Adapt(context.Background(), loadTiny(t), task, cfg, Options{Out: dir})
			var de *uda.DivergedError
			var nf *uda.NonFiniteError
			if !errors.As(err, &de) || !errors.As(err, &nf) {
				t.Fatalf("error %v, want a DivergedError", err)
			}
			t.Logf("%v", err)
			if tt.wantIter > 0 && (de.Iter != tt.wantIter || de.Term != tt.wantTerm) {
				t.Errorf("diverged at iteration %d in %s, want %d in %s", de.Iter, de.Term, tt.wantIter, tt.wantTerm)
			}
			// The checkpoint is that of the last epoch before, if any.
			want := (de.Iter - 1) / cfg.ItersPerEpoch * cfg.ItersPerEpoch
			ckpt := filepath.Join(dir, FileCheckpoint)
			if want == 0 {
				if _, err := os.Stat(ckpt); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("diverged in the first epoch, yet %s exists (%v)", ckpt, err)
				}
				return
			}
			_, meta := tensorsOf(t, ckpt)
			var st struct{ Iter int }
			if err := json.Unmarshal([]byte(meta[uda.MetaTrainer]), &st); err != nil {
				t.Fatal(err)
			}
			if st.Iter != want {
				t.Errorf("checkpoint of iteration %d kept, want %d", st.Iter, want)
			}
		})
	}
}

func TestAdaptOut(t *testing.T) {
	const m = uda.MethodSourceOnly
	cfg := testConfig(m)
	cfg.Epochs = 1
	const staleCkpt, staleTask = "." + FileCheckpoint + ".tmp123", "." + FileBest + ".vlpr.tmp4567"
	tests := []struct {
		name     string
		files    []string // in the output folder beforehand
		opt      Options
		wantErr  string // "" for success
		kept     []string
		gone     []string
		wantNote string // in the notes, "" for none
	}{
		{"new folder", nil, Options{}, "", nil, nil, ""},
		{"not empty", []string{"notes.txt"}, Options{}, "not empty", []string{"notes.txt"}, nil, ""},
		{"force", []string{"notes.txt", FileResult, staleCkpt}, Options{Force: true}, "", []string{"notes.txt"}, []string{staleCkpt}, "removed"},
		{"killed before its first checkpoint", []string{FileLog, staleCkpt}, Options{}, "resume starts it over", []string{FileLog, staleCkpt}, nil, ""},
		{"resume without checkpoint", []string{"notes.txt", "notes.txt.tmp1"}, Options{Resume: true}, "", []string{"notes.txt", "notes.txt.tmp1"}, nil, "starting the run from the beginning"},
		{"resume after a kill", []string{FileLog, FileBest + ".vlpr", staleCkpt, staleTask, ".tmp1"}, Options{Resume: true}, "", []string{".tmp1"}, []string{staleCkpt, staleTask}, staleTask},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			for _, f := range tt.files {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tt.opt.Out = dir
			var notes []string
			tt.opt.Progress = notesTo(&notes)
			_, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 1), cfg, tt.opt)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			for _, f := range tt.kept {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "mine" {
					t.Errorf("%s: %q, %v; want it untouched", f, b, err)
				}
			}
			for _, f := range tt.gone {
				if _, err := os.Lstat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s is still there (%v)", f, err)
				}
			}
			joined := strings.Join(notes, "\n")
			if tt.wantNote == "" && len(notes) > 0 || !strings.Contains(joined, tt.wantNote) {
				t.Errorf("notes %q, want %q", notes, tt.wantNote)
			}
		})
	}
}

// TestAdaptStoredBest damages the best epoch's task file of a finished run
// and resumes it: the result must stop describing the file.
func TestAdaptStoredBest(t *testing.T) {
	tests := []struct {
		name string
		tau  float64
		ext  string
	}{
		{"residual", 1e-4, ".vlpr"},
		{"dense", 0, ".safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const m = uda.MethodCMKD
			cfg := testConfig(m)
			cfg.Epochs, cfg.RSTTau = 2, tt.tau
			dir := t.TempDir()
			best := filepath.Join(dir, FileBest+tt.ext)
			var notes []string
			adapt := func() *Result {
				t.Helper()
				notes = nil
				opt := Options{Out: dir, Resume: true, Progress: notesTo(&notes)}
				res, err := Adapt(context.Background(), loadTiny(t), testTask(t, m, 6, 3), cfg, opt)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			if res := adapt(); res.StoredBest == nil || res.StoredBest.Path != best {
				t.Fatalf("stored best %+v, want %s", res.StoredBest, best)
			}
			damages := []struct {
				name   string
				damage func() error
			}{
				{"one bit flipped", func() error {
					b, err := os.ReadFile(best)
					if err != nil {
						return err
					}
					b[len(b)/2] ^= 0x10
					return os.WriteFile(best, b, 0o644)
				}},
				{"removed", func() error { return os.Remove(best) }},
			}
			for _, d := range damages {
				if err := d.damage(); err != nil {
					t.Fatal(err)
				}
				res := adapt()
				if res.StoredBest != nil || !strings.Contains(strings.Join(notes, "\n"), best) {
					t.Errorf("best file %s: stored best %+v, notes %q; want none, and a note naming the file", d.name, res.StoredBest, notes)
				}
				onDisk := readResultFile(t, filepath.Join(dir, FileResult))
				if onDisk.StoredBest != nil {
					t.Errorf("best file %s: result.json describes it: %+v", d.name, onDisk.StoredBest)
				}
			}
		})
	}
}

// readResultFile reads a result.json.
func readResultFile(t *testing.T, path string) *Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// notesTo returns a progress callback that appends the events' notes to
// notes.
func notesTo(notes *[]string) func(Event) {
	return func(e Event) {
		if e.Note != "" {
			*notes = append(*notes, e.Note)
		}
	}
}
