//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/uda/sweep"
)

// TestSweepRunSignal stops "sweep run" with SIGTERM, as Slurm and
// Kubernetes do, and checks the exit status, that the lock is released,
// and that the next start resumes to the bytes of an uninterrupted run.
func TestSweepRunSignal(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 6)
	grid := writeGrid(t, root, func(g *run.Grid) {
		g.Methods = []string{"cmkd+rst"}
		g.Overrides["epochs"], g.Overrides["iters"], g.Overrides["rst"] = 4, 4, 1e-4
	})
	plan := func() string {
		dir := filepath.Join(t.TempDir(), "sweep")
		if code, _, stderr := runVlpuda(t, "sweep", "plan", grid, "-out", dir); code != 0 {
			t.Fatalf("plan: exit %d\n%s", code, stderr)
		}
		return dir
	}
	straight := plan()
	if code, _, stderr := runVlpuda(t, "sweep", "run", straight, "-index", "0", "-q"); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, stderr)
	}
	task := filepath.Join(run.Dir(straight, 0), run.FileTask+".vlpr")
	want, err := os.ReadFile(task)
	if err != nil {
		t.Fatal(err)
	}

	dir := plan()
	out := run.Dir(dir, 0)
	code, stderr := runStopped(t, []string{"sweep", "run", dir, "-index", "0"}, "epoch 1/4", syscall.SIGTERM)
	if code != 143 || !strings.Contains(stderr, "stopped by a signal") {
		t.Fatalf("exit %d, want 143; stderr:\n%s", code, stderr)
	}
	for _, name := range []string{run.FileResult, sweep.FileLock, sweep.FileError} {
		if _, err := os.Stat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the stopped run left %s (%v)", name, err)
		}
	}
	code, _, stderr = runVlpuda(t, "sweep", "run", dir, "-index", "0", "-q")
	if code != 0 || !strings.Contains(stderr, "resuming from") {
		t.Fatalf("the next start: exit %d, want 0 and a resume; stderr:\n%s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(out, run.FileTask+".vlpr"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the resumed run's task file differs from the uninterrupted run's")
	}
}
