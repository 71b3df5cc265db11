package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/uda/run"
)

// The names of the cluster files in a sweep folder.
const (
	FileSbatch   = "sweep.sbatch"
	DirSlurmLogs = "slurm"
)

// Cluster describes how a cluster runs the sweep's workers.
type Cluster struct {
	// Vlpuda is the path of the vlpuda binary on the cluster's nodes.
	Vlpuda string
	// Parallel is the most runs at a time (0: no limit).
	Parallel int
	// GraceSeconds is the time between the scheduler's SIGTERM and its
	// SIGKILL: the worker checkpoints and exits within it.
	GraceSeconds int
	// MemoryMiB is the memory of each worker.
	MemoryMiB int
	// Partition and Time, if set, are Slurm's --partition and --time.
	Partition, Time string
}

// EstimateMemoryMiB returns a memory request for training the model in
// the checkpoint file model: 1 GiB plus 12 times the file's size (the
// weights, their pre-trained copy, gradients and momentum in float32, and
// the activations of a batch). It is an estimate, not a measurement, for
// systems where MeasureMemory cannot measure.
func EstimateMemoryMiB(model string) (int, error) {
	fi, err := os.Stat(model)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return 1024 + int(12*fi.Size()>>20), nil
}

// Sbatch returns the Slurm batch script of the plan in dir: a job array
// with a task per run that runs "vlpuda sweep run DIR -index I". It asks
// for a requeue after a preemption or node failure and for SIGTERM to the
// batch shell GraceSeconds before the end, which the worker answers with
// a checkpoint; the requeued task resumes from it.
func Sbatch(dir string, p *run.Plan, c Cluster) string {
	array := fmt.Sprintf("0-%d", len(p.Runs)-1)
	if c.Parallel > 0 {
		array += fmt.Sprintf("%%%d", c.Parallel)
	}
	lines := []string{
		"#!/bin/bash",
		fmt.Sprintf("# vlpuda sweep: %d runs; submit with: sbatch %s", len(p.Runs), shellQuote(filepath.Join(dir, FileSbatch))),
		"#SBATCH --job-name=vlpuda-sweep",
		"#SBATCH --array=" + array,
		"#SBATCH --requeue",
		fmt.Sprintf("#SBATCH --signal=B:TERM@%d", c.GraceSeconds),
		"#SBATCH --ntasks=1",
		fmt.Sprintf("#SBATCH --cpus-per-task=%d", p.Grid.Threads),
		fmt.Sprintf("#SBATCH --mem=%dM", c.MemoryMiB),
		"#SBATCH --output=" + filepath.Join(dir, DirSlurmLogs, "%A_%a.out"),
		"#SBATCH --open-mode=append",
	}
	if c.Partition != "" {
		lines = append(lines, "#SBATCH --partition="+c.Partition)
	}
	if c.Time != "" {
		lines = append(lines, "#SBATCH --time="+c.Time)
	}
	lines = append(lines,
		"# exec: the SIGTERM that --signal sends the batch shell reaches vlpuda,",
		"# which checkpoints and exits; --requeue starts the task again, and it resumes.",
		fmt.Sprintf("exec %s sweep run %s -index \"$SLURM_ARRAY_TASK_ID\"", shellQuote(c.Vlpuda), shellQuote(dir)),
	)
	return strings.Join(lines, "\n") + "\n"
}

// WriteSbatch writes dir/sweep.sbatch, replacing an earlier one, and
// creates the folder of the tasks' logs.
func WriteSbatch(dir string, p *run.Plan, c Cluster) error {
	if err := os.MkdirAll(filepath.Join(dir, DirSlurmLogs), 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, FileSbatch), []byte(Sbatch(dir, p, c)), true)
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
