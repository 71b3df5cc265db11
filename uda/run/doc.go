// Package run holds the plumbing of domain-adaptation runs, around the
// method of package uda: a whole run in an output folder (Adapt), the
// benchmarks' presets, and the files a run leaves.
//
// Adapt trains one task with a uda.Trainer and writes, in its output
// folder, the JSON-lines log, a checkpoint after every epoch (a run
// stopped at any point resumes from it to the bytes of an uninterrupted
// run), the best and the last epoch's task files, the confusion matrix,
// result.json and the loss and accuracy curves as a PNG.
//
// # Files
//
//	adapt.go      Adapt, Task, Options, Progress, Result: a whole run
//	log.go        the JSON-lines log: IterRecord, EpochRecord
//	confusion.go  the confusion matrix as CSV
//	plot.go       PlotLog: loss and accuracy curves as a PNG
//	presets.go    Preset, Presets: the paper's settings per benchmark
//	task.go       NewTask: a Task from two image datasets and a preset
package run
