// Package run holds the plumbing of domain-adaptation runs, around the
// method of package uda: a whole run in an output folder (Adapt), the
// benchmarks' presets, and grids of runs (Grid, Plan, Index), which
// package sweep schedules on clusters and package demo runs in-process.
//
// Adapt trains one task with a uda.Trainer and writes, in its output
// folder, the JSON-lines log, a checkpoint after every epoch (a run
// stopped at any point resumes from it to the bytes of an uninterrupted
// run), the best and the last epoch's task files, the confusion matrix,
// result.json and the loss and accuracy curves as a PNG.
//
// A Grid (the GRID.json of "vlpuda sweep plan") names a model, a dataset,
// tasks, methods, seeds and setting overrides; Expand numbers its runs
// into a Plan, and Index runs one of them into DIR/runs/I/, reading back
// a finished run and resuming a stopped one. Adapt, Index and their
// callers report to one callback shape, func(Event).
//
// Besides image folders (package data), a grid may name the built-in
// digit domains of package digits (DatasetDigits, DigitDomains) with a
// mini-CLIP teacher, as the packaged demo's grid does, and the method
// MethodZeroShot: the model's zero-shot head, evaluated without training.
//
// # Files
//
//	adapt.go      Adapt, Task, Options, Event, Progress, Result: a whole run
//	grid.go       Grid, Expand, Plan, WritePlan, ReadPlan: grids of runs
//	index.go      Index, Dir, ReadResult: one run of a plan; zero-shot runs
//	probe.go      Probe: a run shortened to a few steps, to measure memory on
//	digits.go     DigitDomains: the digit domains at a model's resolution
//	digitsource.go  the digit domains' streams and test sets, normalised
//	              as the mini-CLIP teacher was pretrained
//	steps.go      StepSizes: how far a tower's elements move per step
//	log.go        the JSON-lines log: IterRecord, EpochRecord
//	confusion.go  the confusion matrix as CSV
//	plot.go       PlotLog: loss and accuracy curves as a PNG
//	presets.go    Preset, Presets: the paper's settings per benchmark
//	task.go       NewTask: a Task from two image datasets and a preset
package run
