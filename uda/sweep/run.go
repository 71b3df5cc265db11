package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/vlp"
)

// The files of a run's folder besides run.Adapt's.
const (
	FileLock  = "lock"
	FileError = "error.txt"
)

// RunDir returns the folder of run i in the sweep folder dir.
func RunDir(dir string, i int) string { return filepath.Join(dir, "runs", strconv.Itoa(i)) }

// Options configures RunIndex.
type Options struct {
	// Progress and Note are passed to run.Adapt.
	Progress func(run.Progress)
	Note     func(string)
	// Workers is the image decoding goroutines per domain (0: one per
	// core).
	Workers int
}

// ErrLocked marks a run that another worker holds.
var ErrLocked = errors.New("run is locked")

// RunIndex runs run i of the plan in dir into dir/runs/i. A run whose
// result.json exists is done and returns (nil, nil) at once; one with a
// checkpoint continues from it, to the same bytes as an uninterrupted
// run. While it runs, dir/runs/i/lock holds the worker's process id and
// host, and a second worker fails with an error wrapping ErrLocked; a lock
// whose process has died on this host is taken over. An error other than
// ctx's cancellation is also written to dir/runs/i/error.txt for
// ReadStatus. The kernels run with the grid's thread count.
func RunIndex(ctx context.Context, dir string, p *Plan, i int, opt Options) (*run.Result, error) {
	r, err := p.Run(i)
	if err != nil {
		return nil, err
	}
	out := RunDir(dir, i)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	if done(out) {
		return nil, nil
	}
	unlock, err := lock(out, opt.Note)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if done(out) { // finished while we waited for the lock
		return nil, nil
	}
	if err := os.Remove(filepath.Join(out, FileError)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	res, err := adapt(ctx, p, r, out, opt)
	if err != nil && ctx.Err() == nil {
		if werr := atomicfile.WriteFile(filepath.Join(out, FileError), []byte(err.Error()+"\n"), true); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return res, err
}

// done reports whether the run in out has finished.
func done(out string) bool {
	_, err := os.Stat(filepath.Join(out, run.FileResult))
	return err == nil
}

// adapt runs r into out with run.Adapt, resuming from a checkpoint there.
func adapt(ctx context.Context, p *Plan, r Run, out string, opt Options) (*run.Result, error) {
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
	task, closeTask, err := run.NewTask(preset, cfg, src, tgt, m.Config.ImageResolution, opt.Workers)
	if err != nil {
		return nil, err
	}
	defer closeTask()
	task.Info.Meta = map[string]string{"model": g.Model, "data": g.Data, "dataset": g.Dataset,
		"source": src.Root, "target": tgt.Root, "sweep_index": strconv.Itoa(r.Index)}
	// Resume from a checkpoint; without one, start over, removing what a
	// run killed before its first checkpoint left.
	ckpt := filepath.Join(out, run.FileCheckpoint)
	_, err = os.Stat(ckpt)
	resume := err == nil
	if resume && opt.Note != nil {
		opt.Note(fmt.Sprintf("run %d: resuming from %s", r.Index, ckpt))
	}
	return run.Adapt(ctx, m, task, cfg, run.Options{Out: out, Resume: resume, Force: !resume, Progress: opt.Progress, Note: opt.Note})
}

// lock creates out/lock with this process's id and host, taking over a
// lock left by a dead process on this host.
func lock(out string, note func(string)) (unlock func(), err error) {
	path := filepath.Join(out, FileLock)
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("sweep: lock: %w", err)
	}
	me := fmt.Sprintf("%d %s\n", os.Getpid(), host)
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(me)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("sweep: lock %s: %w", path, werr)
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sweep: lock: %w", err)
		}
		h, err := readLock(path)
		if err != nil {
			return nil, err
		}
		if h.alive(host) {
			return nil, fmt.Errorf("sweep: %s: %w by process %d on %s (if that process is gone, remove %s)", out, ErrLocked, h.pid, h.host, path)
		}
		if note != nil {
			note(fmt.Sprintf("taking over %s from process %d, which is gone", path, h.pid))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sweep: lock: %w", err)
		}
	}
	return nil, fmt.Errorf("sweep: %s: %w by another process that started at the same time", out, ErrLocked)
}

// holder is the worker a lock file names.
type holder struct {
	pid  int
	host string
}

// readLock reads a lock file. A file whose writer died before writing it
// names no process and counts as held by a dead one.
func readLock(path string) (holder, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return holder{}, fmt.Errorf("sweep: lock: %w", err)
	}
	pid, host, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, err := strconv.Atoi(pid)
	if err != nil {
		h, _ := os.Hostname()
		return holder{host: h}, nil
	}
	return holder{n, host}, nil
}

// alive reports whether the holder may still be running: on another host
// it cannot be known, so it is taken to be; on this one, its process
// must exist.
func (h holder) alive(host string) bool {
	if h.host != host {
		return true
	}
	return h.pid > 0 && processExists(h.pid)
}
