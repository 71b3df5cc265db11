// Package sweep runs the grids of package run on a cluster, the shape of
// the paper's tables: every source→target task, every method, every seed.
//
// A run.Grid (GRID.json) expands into a run.Plan, one numbered run each,
// which run.WritePlan stores as DIR/plan.json. WriteSbatch turns it into a
// Slurm job array (package kube: a Kubernetes Indexed Job) whose workers
// call RunIndex: run.Index behind a lock file that keeps two workers off
// one index, with the last error kept for ReadStatus. ReadStatus says
// where every run stands and ReadReport gathers the finished ones into
// the paper's table: tasks as columns, methods as rows, mean ± standard
// deviation over seeds. MeasureMemory sizes the workers' memory request
// from the peak resident memory of a short probe of each method
// (run.Probe); every worker records its own peak beside its run.
//
// The layout of DIR:
//
//	plan.json         the run.Plan
//	memory.json       the workers' memory request and the probes behind it
//	sweep.sbatch      the Slurm job array (WriteSbatch)
//	runs/I/           run I: run.Adapt's files, and
//	runs/I/lock       the worker holding it: "pid host"
//	runs/I/error.txt  the last error of a failed attempt
//	runs/I/usage.json the peak resident memory of its workers
package sweep
