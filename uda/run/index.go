package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/data"
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
}

// Index runs run i of the plan in the folder dir into Dir(dir, i) and
// returns its result. A run whose result.json exists is done: Index reads
// the result back and reports it as cached. A run with a checkpoint
// resumes from it, to the bytes of an uninterrupted run; any other
// starts over, removing what a run killed before its first checkpoint
// left. The kernels run with the grid's thread count. When the run is
// done, opt.Progress receives an Event with its Result.
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
	if res, err = adaptPlanned(ctx, p, r, out, opt); err != nil {
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

// adaptPlanned runs r into out with Adapt, resuming from a checkpoint
// there.
func adaptPlanned(ctx context.Context, p *Plan, r Planned, out string, opt PlanOptions) (*Result, error) {
	g := p.Grid
	kernels.SetThreads(g.Threads)
	var cfgFile *vlp.Config
	if g.Config != "" {
		c, err := vlp.ReadConfig(g.Config)
		if err != nil {
			return nil, err
		}
		cfgFile = &c
	}
	m, _, err := vlp.Load(g.Model, cfgFile)
	if err != nil {
		return nil, err
	}
	preset, cfg, err := p.Settings(r, m.Config.IsResNet())
	if err != nil {
		return nil, err
	}
	src, tgt, _, err := data.Pair{Root: g.Data, Dataset: g.Dataset, Source: r.Task.Source, Target: r.Task.Target}.Open()
	if err != nil {
		return nil, err
	}
	task, closeTask, err := NewTask(preset, cfg, src, tgt, m.Config.ImageResolution, opt.Workers)
	if err != nil {
		return nil, err
	}
	defer closeTask()
	task.Info.Meta = map[string]string{"model": g.Model, "data": g.Data, "dataset": g.Dataset,
		"source": src.Root, "target": tgt.Root, "sweep_index": strconv.Itoa(r.Index)}
	// Resume from a checkpoint; without one, start over, removing what a
	// run killed before its first checkpoint left.
	ckpt := filepath.Join(out, FileCheckpoint)
	_, err = os.Stat(ckpt)
	resume := err == nil
	progress := func(e Event) {
		e.Run, e.Total = r, len(p.Runs)
		opt.event(e)
	}
	if resume {
		progress(Event{Note: fmt.Sprintf("run %d: resuming from %s", r.Index, ckpt)})
	}
	return Adapt(ctx, m, task, cfg, Options{Out: out, Resume: resume, Force: !resume, Progress: progress})
}
