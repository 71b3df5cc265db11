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
// CMKD with FixMatch, each with run.Adapt from the same teacher weights. Settings
// holds the hyper-parameters; they were chosen on ValidationTask, which is
// never reported, and PROTOCOL.md records how. The accuracy reported is
// that of the last iteration; the best epoch's, chosen with target labels,
// is kept apart.
//
// Images reach the teacher as it was pretrained: scaled to its resolution
// and standardised per image (Normalize), not with CLIP's mean and
// standard deviation. Training views follow the paper's digits recipe,
// without flips (TrainTransform, StrongTransform).
//
// # Output
//
// Run writes into one folder: plan.json (the teacher's fingerprint,
// tasks, methods, seeds and settings), runs/<task>/<method>-seed<k>/ (one
// folder per run), then results.json (the Report) and results.png (a bar
// chart). A second call in the same folder continues an interrupted demo:
// finished runs are read back, a run with a checkpoint resumes from it.
//
// # Files in this package
//
//	source.go   Normalize, the transforms, Images, TestSet, Stream (a uda.Source)
//	domains.go  Task, the demo's tasks, loading domains at the teacher's size
//	demo.go     Settings, Config, Run, RunResult
//	report.go   Report: the table, its JSON Summary, the bar chart
package demo
