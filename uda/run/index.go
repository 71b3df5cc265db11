package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

// DirRuns is the folder of a plan folder that holds one folder per run.
const DirRuns = "runs"

// Dir returns the folder of run i of the plan in the folder dir:
// dir/runs/i.
func Dir(dir string, i int) string { return filepath.Join(dir, DirRuns, strconv.Itoa(i)) }

// PlanOptions configures Index.
type PlanOptions struct {
	// Progress, if not nil, receives the run's events (see Event).
	Progress func(Event)
	// Workers is the image decoding goroutines per domain (0: one per
	// core).
	Workers int
	// Threads, if positive, is the kernels' thread count instead of the
	// grid's; results do not depend on it.
	Threads int
	// Digits, if not nil, loads the digit domains of dataset digits and
	// keeps them for the next run of the same process; it is used if it
	// loads them as the grid says (cache folder, MNIST folder, seed) at
	// the model's resolution, and a new loader is made otherwise.
	Digits *DigitDomains
}

// Index runs run i of the plan in the folder dir into Dir(dir, i) and
// returns its result. A run whose result.json exists is done: Index reads
// the result back and reports it as cached. A run with a checkpoint
// resumes from it, to the bytes of an uninterrupted run; any other
// starts over, removing what a run killed before its first checkpoint
// left. A zero-shot run evaluates the model's zero-shot head and writes
// a Result with no training. The kernels run with the grid's thread
// count, or opt.Threads. When the run is done, opt.Progress receives an
// Event with its Result.
func Index(ctx context.Context, dir string, p *Plan, i int, opt PlanOptions) (res *Result, cached bool, err error) {
	r, err := p.Run(i)
	if err != nil {
		return nil, false, err
	}
	out := Dir(dir, i)
	if res, ok, err := ReadResult(out); err != nil || ok {
		if ok {
			opt.event(Event{Run: r, Total: len(p.Runs), Result: res, Cached: true})
		}
		return res, ok, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, false, fmt.Errorf("sweep: %w", err)
	}
	pr := &planned{Planned: r, plan: p, out: out, opt: opt}
	pr.opt.Progress = func(e Event) {
		e.Run, e.Total = r, len(p.Runs)
		opt.event(e)
	}
	if res, err = pr.run(ctx); err != nil {
		return nil, false, err
	}
	opt.event(Event{Run: r, Total: len(p.Runs), Result: res})
	return res, false, nil
}

// event passes e to opt.Progress, if set.
func (opt PlanOptions) event(e Event) {
	if opt.Progress != nil {
		opt.Progress(e)
	}
}

// Finished reports whether the run in the folder out has finished: its
// result.json exists.
func Finished(out string) bool {
	_, err := os.Stat(filepath.Join(out, FileResult))
	return err == nil
}

// ReadResult reads the result of a finished run from its folder out; ok
// is false if the run has not finished.
func ReadResult(out string) (r *Result, ok bool, err error) {
	path := filepath.Join(out, FileResult)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sweep: %w", err)
	}
	r = new(Result)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, false, fmt.Errorf("sweep: %s: %w", path, err)
	}
	if r.Last == nil || r.Best == nil || r.Stored == nil {
		return nil, false, fmt.Errorf("sweep: %s: incomplete result", path)
	}
	return r, true, nil
}

// planned is one run of a plan being run.
type planned struct {
	Planned
	plan *Plan
	out  string
	opt  PlanOptions
	// probe, if positive, shortens the run to probe iterations in one
	// epoch and an evaluation of at most probeEvalBatches batches, and
	// probed receives the size of the whole run (Probe).
	probe  int
	probed *ProbeResult
}

// run loads the model and the data and trains, or evaluates zero-shot.
func (r *planned) run(ctx context.Context) (*Result, error) {
	start := time.Now()
	g := r.plan.Grid
	kernels.SetThreads(cmp.Or(r.opt.Threads, g.Threads))
	m, err := g.loadModel()
	if err != nil {
		return nil, err
	}
	s, err := r.plan.Settings(r.Planned, m.Config.IsResNet())
	if err != nil {
		return nil, err
	}
	method, err := parseMethod(r.Method)
	if err != nil {
		return nil, err
	}
	if r.probe > 0 {
		r.probed.RunEvals = 1
		if !method.zeroShot {
			r.probed.RunSteps, r.probed.RunEvals = s.Config.Epochs*s.Config.ItersPerEpoch, s.Config.Epochs
		}
		s.Config.Epochs, s.Config.ItersPerEpoch = 1, r.probe
	}
	task, closeTask, err := r.task(m, s, !method.zeroShot)
	if err != nil {
		return nil, err
	}
	defer closeTask()
	if r.probe > 0 {
		r.probed.TestImages = task.Test.Len()
		task.Test = firstImages{task.Test, min(task.Test.Len(), probeEvalBatches*s.Config.EvalBatch)}
	}
	if err := removeStale(r.out, FileSteps); err != nil {
		return nil, err
	}
	if method.zeroShot {
		return r.zeroShot(ctx, m, task, s, start)
	}
	var meter *stepMeter
	if slices.Contains(g.StepSizes, r.Method) {
		meter = newStepMeter(m)
	}
	// Resume from a checkpoint; without one, start over, removing what a
	// run killed before its first checkpoint left.
	ckpt := filepath.Join(r.out, FileCheckpoint)
	_, err = os.Stat(ckpt)
	resume := err == nil
	if resume {
		r.opt.event(Event{Note: fmt.Sprintf("run %d: resuming from %s", r.Index, ckpt)})
	}
	progress := func(e Event) {
		if meter != nil && e.Step != nil && e.Step.Step != nil {
			meter.observe()
		}
		r.opt.event(e)
	}
	res, err := Adapt(ctx, m, task, s.Config, Options{Out: r.out, Resume: resume, Force: !resume, Progress: progress})
	if err != nil || meter == nil {
		return res, err
	}
	return res, writeStepSizes(r.out, meter.result())
}

// loadModel loads the grid's model: a mini-CLIP teacher for dataset
// digits, a CLIP checkpoint otherwise. With ModelFingerprint set, the
// model's image tower must match it.
func (g Grid) loadModel() (*vlp.CLIP, error) {
	var m *vlp.CLIP
	var err error
	if g.Dataset == DatasetDigits {
		m, _, err = pretrain.Load(g.Model)
	} else {
		var cfgFile *vlp.Config
		if g.Config != "" {
			c, err := vlp.ReadConfig(g.Config)
			if err != nil {
				return nil, err
			}
			cfgFile = &c
		}
		m, _, err = vlp.Load(g.Model, cfgFile)
	}
	if err != nil {
		return nil, err
	}
	if fp := rst.FingerprintOf(rst.ImageTower(m)).String(); g.ModelFingerprint != "" && fp != g.ModelFingerprint {
		return nil, fmt.Errorf("sweep: model %s has image tower %s, the grid's is %s: the file has changed since the plan was made", g.Model, fp, g.ModelFingerprint)
	}
	return m, nil
}

// task returns the run's task: the target test set and, if train is set,
// the source and target streams. close stops the streams.
func (r *planned) task(m *vlp.CLIP, s Settings, train bool) (task Task, close func(), err error) {
	g := r.plan.Grid
	size := m.Config.ImageResolution
	if g.Dataset == DatasetDigits {
		task, err := r.digitTask(size, s, train)
		return task, func() {}, err
	}
	src, tgt, _, err := data.Pair{Root: g.Data, Dataset: g.Dataset, Source: r.Task.Source, Target: r.Task.Target}.Open()
	if err != nil {
		return task, nil, err
	}
	meta := map[string]string{"model": g.Model, "data": g.Data, "dataset": g.Dataset,
		"source": src.Root, "target": tgt.Root, "sweep_index": strconv.Itoa(r.Index)}
	if !train {
		recipe, err := augment.ForBenchmark(s.Preset.Name, size)
		if err != nil {
			return task, nil, err
		}
		task.Info = taskInfo(s.Preset, src.Classes)
		task.Info.Meta = meta
		task.Test = uda.NewImageSet(tgt, size, recipe.Test, nil)
		return task, func() {}, nil
	}
	if task, close, err = NewTask(s.Preset, s.Config, src, tgt, size, r.opt.Workers); err != nil {
		return task, nil, err
	}
	task.Info.Meta = meta
	return task, close, nil
}

// digitTask returns the run's task on the digit domains, which are
// normalised as the mini-CLIP teacher was pretrained (teacherNormalize).
// The source stream's seed is twice the run's, the target stream's one
// more.
func (r *planned) digitTask(size int, s Settings, train bool) (Task, error) {
	g := r.plan.Grid
	d := r.opt.Digits
	opt := g.DigitOptions()
	if d == nil || !d.loads(opt, size) {
		d = NewDigitDomains(opt, size)
	}
	var task Task
	test, err := d.Load(r.Task.Target, digits.Test, s.TestImages)
	if err != nil {
		return task, err
	}
	task.Info = uda.TaskInfo{Classes: digits.Classes, Template: pretrain.Prompt, Benchmark: DatasetDigits,
		Meta: map[string]string{"source": r.Task.Source, "target": r.Task.Target, "teacher": g.Model}}
	task.Test = digitTestSet(test, size)
	if !train {
		return task, nil
	}
	src, err := d.Load(r.Task.Source, digits.Train, s.TrainImages)
	if err != nil {
		return task, err
	}
	tgt, err := d.Load(r.Task.Target, digits.Train, s.TrainImages)
	if err != nil {
		return task, err
	}
	if task.Source, err = newDigitStream(src, digitStreamConfig{Batch: s.Preset.SourceBatch, Seed: 2 * r.Seed, Size: size}); err != nil {
		return task, err
	}
	sc := digitStreamConfig{Batch: s.Preset.TargetBatch, Seed: 2*r.Seed + 1, Size: size}
	if s.Config.Objective.Method.UsesStrongView() {
		sc.Strong = digitStrongTransform(size)
	}
	task.Target, err = newDigitStream(tgt, sc)
	return task, err
}

// DigitOptions returns where the digit domains of the grid are and how
// they are made (dataset digits).
func (g Grid) DigitOptions() digits.Options {
	return digits.Options{CacheDir: g.Data, MNISTDir: g.MNIST, Seed: g.DomainSeed}
}

// zeroShot classifies the target test set with the model's zero-shot head
// (the task's prompt template over its class names) and writes the
// result, which trains and stores nothing.
func (r *planned) zeroShot(ctx context.Context, m *vlp.CLIP, task Task, s Settings, start time.Time) (*Result, error) {
	names := make([]string, len(task.Info.Classes))
	for k, c := range task.Info.Classes {
		names[k] = vlp.ClassName(c, task.Info.LowerNames)
	}
	z, err := vlp.NewZeroShot(m, names, []string{task.Info.Template})
	if err != nil {
		return nil, err
	}
	test := task.Test
	unpack := nn.PackWeights(m.Visual) // inference only, see nn.PackWeights
	defer unpack()
	ev := &uda.Evaluation{Images: test.Len(), PerClass: make([]vlp.ClassResult, len(names)), Confusion: make([][]int, len(names))}
	for k := range names {
		ev.Confusion[k] = make([]int, len(names))
		ev.PerClass[k].Class = names[k]
	}
	batch := s.Config.EvalBatch
	for lo := 0; lo < test.Len(); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, test.Len())
		b, err := test.Batch(lo, hi)
		if err != nil {
			return nil, err
		}
		pred, _ := z.Predict(b.Images)
		for i, p := range pred {
			y := b.Labels[i]
			if y < 0 || y >= len(names) {
				return nil, fmt.Errorf("run: zero-shot: image %d has label %d, want [0, %d)", lo+i, y, len(names))
			}
			ev.Confusion[y][p]++
			ev.PerClass[y].Images++
			if p == y {
				ev.PerClass[y].Correct++
				ev.Correct++
			}
		}
		r.opt.event(Event{Step: &Progress{Iter: hi, Total: test.Len(), Epoch: 1, Epochs: 1}})
	}
	unpack() // towerParams reads the parameters
	ev.Top1, ev.MeanPerClass = vlp.Accuracies(ev.PerClass)
	info := task.Info
	info.Method = MethodZeroShot
	last := &EpochResult{Evaluation: ev}
	res := &Result{
		Task: info, Last: last, Best: last,
		BestSelection: "none: the zero-shot head is not trained",
		Stored:        &uda.StoredTask{Format: "none", TowerNumel: towerParams(m)},
		Seconds:       time.Since(start).Seconds(),
	}
	if err := writeFileAtomic(filepath.Join(r.out, FileConfusion), confusionCSV(ev)); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("run: result: %w", err)
	}
	return res, writeFileAtomic(filepath.Join(r.out, FileResult), append(js, '\n'))
}

// taskInfo describes the task of preset p's benchmark with the classes.
func taskInfo(p Preset, classes []string) uda.TaskInfo {
	return uda.TaskInfo{Classes: classes, Template: p.Template, LowerNames: p.LowerNames, Benchmark: p.Name}
}

// towerParams returns the number of image-tower parameters.
func towerParams(m *vlp.CLIP) int {
	n := 0
	for _, p := range rst.ImageTower(m) {
		n += p.Tensor.Numel()
	}
	return n
}

// FileSteps is the file of a run's tower step sizes (Grid.StepSizes).
const FileSteps = "step_sizes.json"

// writeStepSizes stores s in a run's folder (nothing if s is nil).
func writeStepSizes(dir string, s *StepSizes) error {
	if s == nil {
		return nil
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, FileSteps), append(js, '\n'))
}

// ReadStepSizes reads the step sizes a run measured from its folder out;
// it returns nil if the run measured none.
func ReadStepSizes(out string) (*StepSizes, error) {
	path := filepath.Join(out, FileSteps)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	s := new(StepSizes)
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("run: %s: %w", path, err)
	}
	return s, nil
}

// removeStale removes the temporary files that a killed process left
// while writing names in dir (see atomicfile.RemoveStale); a missing dir
// holds none.
func removeStale(dir string, names ...string) error {
	for _, name := range names {
		if _, err := atomicfile.RemoveStale(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("run: %w", err)
		}
	}
	return nil
}
