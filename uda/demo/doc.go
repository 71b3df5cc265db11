// Package demo runs vlpuda's packaged benchmark: the mini-CLIP teacher of
// package pretrain adapted between the digit domains of package digits
// with the methods of package uda, reported in the paper's layout.
//
// # Runs
//
// Run trains, for every task (a source → target pair of domains) and seed,
// the methods of the paper's tables: the teacher's zero-shot head (no
// training), source-only fine-tuning, CMKD, CMKD with RST twice (capped at
// a share of the tower, and the paper's RST with its threshold alone), and
// CMKD with FixMatch, each from the same teacher weights. The runs are a
// sweep: Grid describes them as a run.Grid of the digit domains (dataset
// digits, zero-shot as a method), and Run runs its plan in-process with
// run.Index, the code "vlpuda sweep run" runs on a cluster. Settings
// holds the hyper-parameters; they were chosen on ValidationTask, which is
// never reported, and PROTOCOL.md records how. The accuracy reported is
// that of the last iteration; the best epoch's, chosen with target labels,
// is kept apart.
//
// Images reach the teacher as it was pretrained: scaled to its resolution
// and standardised per image, not with CLIP's mean and standard
// deviation. Training views follow the paper's digits recipe, without
// flips (package run loads the domains and draws the batches).
//
// # Output
//
// Run writes into one folder: plan.json (the run.Plan: the teacher and its
// fingerprint, tasks, methods, seeds and settings), runs/I/ (one folder
// per run, numbered in the plan's order: task, method, seed), then
// results.json (the Report) and results.png (a bar chart). A second call
// in the same folder continues an interrupted demo: finished runs are
// read back, a run with a checkpoint resumes from it. A folder of a demo
// made before the demo was a sweep (runs/<task>/<method>-seed<k>/) is
// refused, not continued; its results.json reads as before.
//
// # Files in this package
//
//	tasks.go    Task, the demo's tasks
//	demo.go     Settings, Config, Grid, Run, RunResult
//	report.go   Report: the table, its JSON Summary, the bar chart
package demo
