package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vlpuda/vlpuda/uda/run"
)

// State is where a planned run stands.
type State string

// The states of a run.
const (
	Pending State = "pending" // not started, or stopped and not running now
	Running State = "running" // a live worker holds its lock
	Done    State = "done"    // its result.json exists
	Failed  State = "failed"  // its last attempt ended with an error
)

// RunStatus is the state of one planned run.
type RunStatus struct {
	run.Planned
	State State `json:"state"`
	// Detail is the last error of a failed run, the worker of a running
	// one, or what a pending one has (a checkpoint, a stale lock).
	Detail string `json:"detail,omitempty"`
	// PeakMiB is the peak resident memory its workers measured (Usage);
	// zero if none has.
	PeakMiB float64 `json:"peak_mib,omitempty"`
}

// ReadStatus returns the state of every run of the plan in dir.
func ReadStatus(dir string, p *run.Plan) ([]RunStatus, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("sweep: status: %w", err)
	}
	st := make([]RunStatus, len(p.Runs))
	for i, r := range p.Runs {
		out := run.Dir(dir, i)
		if st[i], err = runStatus(out, r, host); err != nil {
			return nil, err
		}
		u, err := ReadUsage(out)
		if err != nil {
			return nil, err
		}
		if u != nil {
			st[i].PeakMiB = u.PeakMiB
		}
	}
	return st, nil
}

func runStatus(out string, r run.Planned, host string) (RunStatus, error) {
	s := RunStatus{Planned: r, State: Pending}
	if run.Finished(out) {
		s.State = Done
		return s, nil
	}
	var notes []string
	if h, err := readLock(filepath.Join(out, FileLock)); err == nil {
		if h.alive(host) {
			s.State, s.Detail = Running, fmt.Sprintf("process %d on %s", h.pid, h.host)
			return s, nil
		}
		notes = append(notes, fmt.Sprintf("stale lock of process %d", h.pid))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	msg, err := os.ReadFile(filepath.Join(out, FileError))
	switch {
	case err == nil:
		s.State, s.Detail = Failed, strings.TrimSpace(string(msg))
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("sweep: status: %w", err)
	}
	if _, err := os.Stat(filepath.Join(out, run.FileCheckpoint)); err == nil {
		notes = append(notes, "stopped; resumes from its checkpoint")
	}
	s.Detail = strings.Join(notes, "; ")
	return s, nil
}
