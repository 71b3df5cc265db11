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
	"github.com/vlpuda/vlpuda/internal/peakmem"
	"github.com/vlpuda/vlpuda/uda/run"
)

// The files of a run's folder besides run.Adapt's.
const (
	FileLock  = "lock"
	FileError = "error.txt"
)

// ErrLocked marks a run that another worker holds.
var ErrLocked = errors.New("run is locked")

// RunIndex runs run i of the plan in dir into run.Dir(dir, i) with
// run.Index, as one worker among several. A run that has finished is left
// alone: RunIndex returns (nil, nil) at once. While it runs,
// run.Dir(dir, i)/lock holds the worker's process id and host, and a
// second worker fails with an error wrapping ErrLocked; a lock whose
// process has died on this host is taken over. An error other than
// ctx's cancellation is also written to run.Dir(dir, i)/error.txt for
// ReadStatus. The process's peak resident memory while it ran goes to
// run.Dir(dir, i)/usage.json (the larger of it and an earlier attempt's).
func RunIndex(ctx context.Context, dir string, p *run.Plan, i int, opt run.PlanOptions) (*run.Result, error) {
	if _, err := p.Run(i); err != nil {
		return nil, err
	}
	out := run.Dir(dir, i)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	if run.Finished(out) {
		return nil, nil
	}
	unlock, err := lock(out, opt.Progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if run.Finished(out) { // finished while we waited for the lock
		return nil, nil
	}
	if err := os.Remove(filepath.Join(out, FileError)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	if err := peakmem.Reset(); err != nil && !errors.Is(err, peakmem.ErrUnsupported) {
		return nil, err
	}
	res, _, err := run.Index(ctx, dir, p, i, opt)
	if uerr := recordUsage(out); uerr != nil {
		err = errors.Join(err, uerr)
	}
	if err != nil && ctx.Err() == nil {
		if werr := atomicfile.WriteFile(filepath.Join(out, FileError), []byte(err.Error()+"\n"), true); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return res, err
}

// lock creates out/lock with this process's id and host, taking over a
// lock left by a dead process on this host.
func lock(out string, progress func(run.Event)) (unlock func(), err error) {
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
		if progress != nil {
			progress(run.Event{Note: fmt.Sprintf("taking over %s from process %d, which is gone", path, h.pid)})
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
