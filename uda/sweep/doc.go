// Package sweep runs grids of domain-adaptation runs, the shape of the
// paper's tables: every source→target task, every method, every seed.
//
// A Grid (GRID.json) names a model, a dataset, the tasks, methods, seeds
// and setting overrides. Expand turns it into a Plan, one numbered Run
// each, which WritePlan stores as DIR/plan.json and WriteSbatch turns
// into a Slurm job array (package kube: a Kubernetes Indexed Job).
// RunIndex runs one planned run into DIR/runs/I/ with run.Adapt: a
// finished run is left alone, a stopped one resumes from its checkpoint,
// and a lock file keeps two workers off one index.
// ReadStatus says where every run stands and ReadReport gathers the
// finished ones into the paper's table: tasks as columns, methods as
// rows, mean ± standard deviation over seeds.
//
// The layout of DIR:
//
//	plan.json         the Plan
//	sweep.sbatch      the Slurm job array (WriteSbatch)
//	runs/I/           run I: run.Adapt's files, and
//	runs/I/lock       the worker holding it: "pid host"
//	runs/I/error.txt  the last error of a failed attempt
package sweep
