package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/uda"

	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

// The files Adapt writes in its output folder.
const (
	FileLog        = "log.jsonl"
	FileCheckpoint = "checkpoint.safetensors"
	FileResult     = "result.json"
	FileConfusion  = "confusion.csv"
	FilePlot       = "curves.png"
	// FileTask and FileBest are the last epoch's and the best epoch's task
	// files, with the extension TaskExt gives.
	FileTask = "task"
	FileBest = "best"
)

// outputs lists every file name Adapt may write, for Options.Force.
var outputs = []string{FileLog, FileCheckpoint, FileResult, FileConfusion, FilePlot,
	FileTask + ".vlpr", FileTask + ".safetensors", FileBest + ".vlpr", FileBest + ".safetensors"}

// taskExt returns the extension of task files: ".vlpr" (an RST residual)
// with RST, ".safetensors" without.
func taskExt(c uda.Config) string {
	if c.RST() {
		return ".vlpr"
	}
	return ".safetensors"
}

// Task is what Adapt trains on: the labelled source stream, the
// unlabelled target stream (with strong views for FixMatch), the labelled
// target test set, and the task's description.
type Task struct {
	// Info names the classes in label order, the prompt template and the
	// data recipe; Adapt fills in Method, Epoch and Iter.
	Info   uda.TaskInfo
	Source uda.Source
	Target uda.Source
	Test   uda.EvalSet
}

// Options configures where and how Adapt runs.
type Options struct {
	// Out is the output folder. Adapt refuses one that is not empty,
	// unless Resume (continue the run whose checkpoint it holds) or Force
	// (start over, deleting the files an earlier run wrote there; other
	// files are left alone). Resume with a folder that holds no checkpoint
	// (a new one, or a run stopped before its first epoch ended) starts
	// the run over, as Force does. Either removes the temporary files
	// that a killed process left.
	Out    string
	Resume bool
	Force  bool
	// Progress, if not nil, receives an Event with Step set after every
	// iteration and after every evaluation, and one with Note set for a
	// message about the output folder: a resume that starts over, stale
	// temporary files removed.
	Progress func(Event)
}

// Event is what Adapt, Index and the demo report as they go, to a
// callback of one shape, func(Event): a note, the progress of a run's
// training, or a finished run.
type Event struct {
	// Run is the planned run concerned and Total the number of runs in its
	// plan; both are zero for a lone Adapt.
	Run   Planned
	Total int
	// Step is set after every iteration and evaluation of a training run,
	// and after every batch of a zero-shot evaluation.
	Step *Progress
	// Result is set when a planned run is done; Cached says that it was
	// done before (its result was read back).
	Result *Result
	Cached bool
	// Note is a message for the user.
	Note string
}

// Progress reports the state of a run.
type Progress struct {
	Iter, Total   int // iterations done and in all
	Epoch, Epochs int // the current epoch (from 1) and their number
	// Step describes the iteration just done; nil after an evaluation.
	Step *uda.StepStats
	// Eval is the evaluation just done, Best the best so far; nil after an
	// iteration.
	Eval, Best *EpochResult
}

// EpochResult is the evaluation of the target after an epoch.
type EpochResult struct {
	Epoch int `json:"epoch"`
	Iter  int `json:"iter"`
	*uda.Evaluation
}

// EpochSummary is the accuracy after an epoch.
type EpochSummary struct {
	Epoch        int     `json:"epoch"`
	Iter         int     `json:"iter"`
	Top1         float64 `json:"top1"`
	MeanPerClass float64 `json:"mean_per_class"`
}

// Result is the outcome of Adapt, written to result.json.
type Result struct {
	Task uda.TaskInfo `json:"task"`
	// Config is the training configuration; nil for a zero-shot run,
	// which trains nothing.
	Config *uda.Config `json:"config,omitempty"`
	// Iterations is the number of iterations done.
	Iterations int `json:"iterations"`
	// Last is the target accuracy of the final weights, the number to
	// report. Best is that of the best epoch, which is chosen with the
	// target's labels: an oracle, as the paper's (and most UDA code's)
	// reported numbers are; BestSelection says so.
	Last          *EpochResult `json:"last_epoch"`
	Best          *EpochResult `json:"best_epoch"`
	BestSelection string       `json:"best_selection"`
	// History is the accuracy after every epoch.
	History []EpochSummary `json:"history"`
	// Stored and StoredBest describe the task files of the last and of the
	// best epoch. StoredBest is nil if, when the run ends, the best
	// epoch's file is gone or fails its check (VerifyTask).
	Stored     *uda.StoredTask `json:"stored"`
	StoredBest *uda.StoredTask `json:"stored_best"`
	// RST counts, per tower tensor, the elements that differ from the
	// pre-trained weights (RST only).
	RST *rst.Density `json:"rst,omitempty"`
	// Seconds is the wall time of this call (after a resume, of the
	// resumed part only).
	Seconds float64 `json:"seconds"`
}

// runState is the part of a checkpoint that Adapt keeps besides the
// trainer's.
type runState struct {
	Source    []byte         `json:"source"`
	Target    []byte         `json:"target,omitempty"`
	LogOffset int64          `json:"log_offset"`
	Window    window         `json:"window"`
	History   []EpochSummary `json:"history"`
	Last      *EpochResult   `json:"last,omitempty"`
	Best      *EpochResult   `json:"best,omitempty"`
	// StoredBest describes the best epoch's task file.
	StoredBest *uda.StoredTask `json:"stored_best,omitempty"`
}

// Adapt trains the task model of task from the pre-trained CLIP m (spec
// §1.9), writing in opt.Out:
//
//	log.jsonl               an IterRecord every LogEvery iterations, an EpochRecord per epoch
//	checkpoint.safetensors  after every epoch (and when ctx is cancelled): resume state
//	best.vlpr|.safetensors  the task file of the best epoch (oracle, see Result)
//	task.vlpr|.safetensors  the task file of the last epoch
//	confusion.csv           the last epoch's confusion matrix
//	result.json             the Result
//	curves.png              loss terms and accuracy over the run
//
// Every file but the log appears complete or not at all. With
// opt.Resume, a run continues from its checkpoint to exactly the numbers
// an uninterrupted run gives (same seed, same thread count); m must hold
// the same pre-trained weights, the sources must be built the same way,
// and cfg may differ only in Epochs. If a loss term becomes NaN or
// infinite, Adapt stops with a *DivergedError naming the iteration and the
// term, and the checkpoint of the last epoch stays as it was. If ctx is
// cancelled, Adapt writes a checkpoint after the current iteration and
// returns an error wrapping ctx.Err().
func Adapt(ctx context.Context, m *vlp.CLIP, task Task, cfg uda.Config, opt Options) (*Result, error) {
	start := time.Now()
	if err := checkTask(task, cfg); err != nil {
		return nil, err
	}
	resuming, err := prepareOut(opt)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(task.Info.Classes))
	for k, c := range task.Info.Classes {
		names[k] = vlp.ClassName(c, task.Info.LowerNames)
	}
	tr, err := uda.NewTrainer(m, names, task.Info.Template, cfg)
	if err != nil {
		return nil, err
	}
	r := &adaptRun{tr: tr, task: task, opt: opt, info: task.Info}
	r.info.Method = cfg.Objective.Method.String()
	if resuming {
		if err := r.restore(); err != nil {
			return nil, err
		}
	}
	if r.log, err = openLog(r.path(FileLog), r.st.LogOffset); err != nil {
		return nil, err
	}
	defer r.log.close()
	r.st.Window.start = time.Now()
	r.start = start
	if err := r.train(ctx); err != nil {
		return nil, err
	}
	return r.finish()
}

// adaptRun is the state of one call of Adapt.
type adaptRun struct {
	tr    *uda.Trainer
	task  Task
	opt   Options
	info  uda.TaskInfo
	st    runState
	log   *logWriter
	start time.Time
}

func (r *adaptRun) path(name string) string { return filepath.Join(r.opt.Out, name) }

// checkTask reports a task that lacks what cfg's method needs.
func checkTask(task Task, cfg uda.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch {
	case len(task.Info.Classes) == 0:
		return errors.New("uda: adapt: no classes")
	case task.Source == nil || task.Test == nil:
		return errors.New("uda: adapt: a source stream and a target test set are required")
	case cfg.Objective.Method.UsesTarget() && task.Target == nil:
		return fmt.Errorf("uda: adapt: %v needs a target stream", cfg.Objective.Method)
	case task.Test.Len() == 0:
		return errors.New("uda: adapt: the target test set is empty")
	}
	return nil
}

// prepareOut creates or checks the output folder and reports whether a
// run is to be resumed from it. Before a run starts or resumes in a used
// folder, it removes the temporary files that a killed process left there
// and, unless the run resumes, the files of the earlier run (with Force,
// or with Resume and no checkpoint to resume from); other files are left
// alone.
func prepareOut(opt Options) (resume bool, err error) {
	if opt.Out == "" {
		return false, errors.New("uda: adapt: no output folder")
	}
	entries, err := os.ReadDir(opt.Out)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return false, os.MkdirAll(opt.Out, 0o755)
	}
	if err != nil {
		return false, fmt.Errorf("uda: adapt: %w", err)
	}
	ckpt := filepath.Join(opt.Out, FileCheckpoint)
	_, statErr := os.Stat(ckpt)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return false, fmt.Errorf("uda: adapt: %w", statErr)
	}
	hasCheckpoint := statErr == nil
	if !opt.Resume && !opt.Force {
		if !hasCheckpoint && slices.ContainsFunc(entries, isRunFile) {
			return false, fmt.Errorf("uda: adapt: output folder %s is not empty: it holds a run stopped before its first checkpoint (resume starts it over, force too)", opt.Out)
		}
		return false, fmt.Errorf("uda: adapt: output folder %s is not empty (resume continues the run it holds, force starts over)", opt.Out)
	}
	for _, name := range outputs {
		removed, err := atomicfile.RemoveStale(filepath.Join(opt.Out, name))
		if err != nil {
			return false, fmt.Errorf("uda: adapt: %w", err)
		}
		for _, f := range removed {
			opt.note("removed %s, left by an interrupted write", f)
		}
	}
	if opt.Resume && hasCheckpoint {
		return true, nil
	}
	if opt.Resume {
		opt.note("no checkpoint %s to resume from: starting the run from the beginning", ckpt)
	}
	for _, name := range outputs {
		if err := os.Remove(filepath.Join(opt.Out, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("uda: adapt: %w", err)
		}
	}
	return false, nil
}

// isRunFile reports whether e is a file Adapt writes, or a temporary file
// of one.
func isRunFile(e fs.DirEntry) bool {
	name := strings.TrimPrefix(e.Name(), ".")
	for _, out := range outputs {
		if name == out || strings.HasPrefix(name, out+".tmp") {
			return true
		}
	}
	return false
}

// note passes a message to opt.Progress, if set.
func (opt Options) note(format string, args ...any) {
	if opt.Progress != nil {
		opt.Progress(Event{Note: fmt.Sprintf(format, args...)})
	}
}

// restore loads the checkpoint into the trainer, the run state and the
// sources.
func (r *adaptRun) restore() error {
	js, err := r.tr.ReadCheckpoint(r.path(FileCheckpoint))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(js, &r.st); err != nil {
		return fmt.Errorf("uda: checkpoint %s: run state: %w", r.path(FileCheckpoint), err)
	}
	if err := r.task.Source.Restore(r.st.Source); err != nil {
		return fmt.Errorf("uda: resume: source: %w", err)
	}
	if r.tr.Config().Objective.Method.UsesTarget() {
		if err := r.task.Target.Restore(r.st.Target); err != nil {
			return fmt.Errorf("uda: resume: target: %w", err)
		}
	}
	return nil
}

// train runs the iterations left, evaluating and checkpointing after each
// epoch.
func (r *adaptRun) train(ctx context.Context) error {
	cfg := r.tr.Config()
	total := cfg.Iterations()
	rstNumel := 0
	if r.tr.Projector != nil {
		rstNumel = r.tr.Projector.Numel()
	}
	for r.tr.Iter() < total {
		if err := ctx.Err(); err != nil {
			if cerr := r.checkpoint(); cerr != nil {
				return errors.Join(err, cerr)
			}
			return fmt.Errorf("uda: stopped after iteration %d; %s resumes the run: %w", r.tr.Iter(), r.path(FileCheckpoint), err)
		}
		src, err := r.task.Source.Next()
		if err != nil {
			return r.stopped(err)
		}
		var tgt uda.Batch
		if cfg.Objective.Method.UsesTarget() {
			if tgt, err = r.task.Target.Next(); err != nil {
				return r.stopped(err)
			}
		}
		stats, err := r.tr.Step(src, tgt)
		if err != nil {
			return r.stopped(err)
		}
		epoch := (stats.Iter-1)/cfg.ItersPerEpoch + 1
		epochEnd := stats.Iter%cfg.ItersPerEpoch == 0
		r.st.Window.add(stats)
		if stats.Iter%cfg.LogEvery == 0 || epochEnd {
			if err := r.log.write(r.st.Window.record(stats, epoch, cfg.Objective, rstNumel)); err != nil {
				return err
			}
		}
		r.progress(Progress{Iter: stats.Iter, Total: total, Epoch: epoch, Epochs: cfg.Epochs, Step: &stats})
		if epochEnd {
			if err := r.endEpoch(epoch); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopped returns err, which ended training, saying which checkpoint is
// kept.
func (r *adaptRun) stopped(err error) error {
	r.log.sync() // keep the lines since the checkpoint for inspection; a resume cuts them
	if len(r.st.History) == 0 {
		return fmt.Errorf("%w (no checkpoint was written yet)", err)
	}
	last := r.st.History[len(r.st.History)-1]
	return fmt.Errorf("%w (the checkpoint of epoch %d, iteration %d, in %s is kept)", err, last.Epoch, last.Iter, r.path(FileCheckpoint))
}

func (r *adaptRun) progress(p Progress) {
	if r.opt.Progress != nil {
		r.opt.Progress(Event{Step: &p})
	}
}

// endEpoch evaluates the target, logs the result, keeps the best epoch's
// task file and writes a checkpoint.
func (r *adaptRun) endEpoch(epoch int) error {
	cfg := r.tr.Config()
	if err := r.tr.CheckFinite(); err != nil {
		return r.stopped(err)
	}
	t0 := time.Now()
	ev, err := r.tr.Evaluate(r.task.Test, nil)
	if err != nil {
		return r.stopped(err)
	}
	res := &EpochResult{Epoch: epoch, Iter: r.tr.Iter(), Evaluation: ev}
	r.st.Last = res
	r.st.History = append(r.st.History, EpochSummary{Epoch: epoch, Iter: res.Iter, Top1: ev.Top1, MeanPerClass: ev.MeanPerClass})
	if r.st.Best == nil || ev.Metric(cfg.Metric) > r.st.Best.Metric(cfg.Metric) {
		r.st.Best = res
		info := r.info
		info.Epoch, info.Iter = epoch, res.Iter
		stored, err := r.tr.WriteTask(r.path(FileBest+taskExt(cfg)), info, true)
		if err != nil {
			return err
		}
		r.st.StoredBest = stored
	}
	rec := EpochRecord{
		Type: "epoch", Epoch: epoch, Iter: res.Iter, Top1: ev.Top1, MeanPerClass: ev.MeanPerClass,
		BestEpoch: r.st.Best.Epoch, Best: r.st.Best.Metric(cfg.Metric),
		Seconds: time.Since(r.start).Seconds(), EvalSeconds: time.Since(t0).Seconds(),
	}
	for _, c := range ev.PerClass {
		rec.PerClass = append(rec.PerClass, c.Accuracy)
	}
	if err := r.log.write(rec); err != nil {
		return err
	}
	if err := r.checkpoint(); err != nil {
		return err
	}
	r.progress(Progress{Iter: res.Iter, Total: cfg.Iterations(), Epoch: epoch, Epochs: cfg.Epochs, Eval: res, Best: r.st.Best})
	return nil
}

// checkpoint writes the trainer's and the run's state.
func (r *adaptRun) checkpoint() error {
	off, err := r.log.sync()
	if err != nil {
		return err
	}
	r.st.LogOffset = off
	if r.st.Source, err = r.task.Source.State(); err != nil {
		return fmt.Errorf("uda: checkpoint: source: %w", err)
	}
	if r.tr.Config().Objective.Method.UsesTarget() {
		if r.st.Target, err = r.task.Target.State(); err != nil {
			return fmt.Errorf("uda: checkpoint: target: %w", err)
		}
	}
	js, err := json.Marshal(&r.st)
	if err != nil {
		return fmt.Errorf("uda: checkpoint: %w", err)
	}
	return r.tr.WriteCheckpoint(r.path(FileCheckpoint), js)
}

// finish writes the last epoch's task file, the confusion matrix, the
// result and the plot.
func (r *adaptRun) finish() (*Result, error) {
	cfg := r.tr.Config()
	if err := r.log.close(); err != nil {
		return nil, err
	}
	info := r.info
	info.Epoch, info.Iter = r.st.Last.Epoch, r.st.Last.Iter
	stored, err := r.tr.WriteTask(r.path(FileTask+taskExt(cfg)), info, true)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Task: info, Config: &cfg, Iterations: r.tr.Iter(),
		Last: r.st.Last, Best: r.st.Best,
		BestSelection: fmt.Sprintf("the epoch with the highest target %s, selected with target labels (oracle)", cfg.Metric),
		History:       r.st.History, Stored: stored, StoredBest: r.verifiedBest(),
		Seconds: time.Since(r.start).Seconds(),
	}
	if r.tr.Projector != nil {
		d := r.tr.Projector.Density()
		res.RST = &d
	}
	if err := writeFileAtomic(r.path(FileConfusion), confusionCSV(r.st.Last.Evaluation)); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("uda: result: %w", err)
	}
	if err := writeFileAtomic(r.path(FileResult), append(js, '\n')); err != nil {
		return nil, err
	}
	if err := PlotLog(r.path(FileLog), r.path(FilePlot)); err != nil {
		return nil, err
	}
	return res, nil
}

// verifiedBest returns the description of the best epoch's task file, or
// nil, with a note, if the file is gone or fails its check.
func (r *adaptRun) verifiedBest() *uda.StoredTask {
	s := r.st.StoredBest
	if s == nil {
		return nil
	}
	if err := uda.VerifyTask(s.Path); err != nil {
		r.opt.note("the best epoch's task file is not usable, so the result does not describe it: %v", err)
		return nil
	}
	return s
}

// writeFileAtomic writes data to path so that path holds either its old
// content or all of data.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, true); err != nil {
		return fmt.Errorf("uda: %w", err)
	}
	return nil
}
