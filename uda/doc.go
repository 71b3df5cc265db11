// Package uda adapts a CLIP image tower to an unlabelled target domain with
// the method of Zhou & Zhou, "Unsupervised Domain Adaption Harnessing
// Vision-Language Pre-training" (IEEE TCSVT 2024, arXiv 2408.02192): the
// task head, Cross-Modal Knowledge Distillation (CMKD), FixMatch on both
// heads, and their ramped loss weights. Section numbers ("spec §1.9") are
// those of the project's method specification, which restates the paper's
// equations and notes where the authors' code departs from them; the losses
// follow the authors' code by default (VariantCode) and the paper's printed
// equations on request (VariantPaper).
//
// # Files
//
//	head.go        Head: BatchNorm1d (frozen bias) → LayerNorm → Linear
//	lambda.go      Ramp: the dynamic factor λ_dyn(t)
//	losses.go      GiniCalibrated, Gini, Alpha, TeacherLogits; Objective,
//	               Logits and Loss assemble one iteration's loss; CheckFinite
//	fixmatch.go    FixMatch, one head's masked pseudo-label term
//	source.go      Batch, Source, EvalSet; LoaderSource (a data.Loader that
//	               draws forever), ImageSet (a test set), MemoryImages
//	train.go       Config, Trainer: the setup and the iteration of spec §1.9
//	eval.go        Evaluation, Evaluate: top-1, mean per-class, confusion
//	checkpoint.go  WriteCheckpoint, ReadCheckpoint (the trainer's state,
//	               for a resume); task files, an RST residual or dense:
//	               WriteTask, LoadTask
//
// The plumbing of a run (its output folder, log, checkpoints after every
// epoch, result.json, curves), the benchmarks' presets and grids of runs
// are package run's.
//
// # Training a task
//
// The Trainer runs the paper's training (spec §1.9) from a pre-trained
// CLIP, and run.Adapt a whole run of it:
// the image tower f and the task head h train with SGD (Nesterov 0.9,
// weight decay 5e-4; head learning rate a multiple of the tower's; both
// decayed as lr·(1+γt)^(−p) every iteration); the teacher is CLIP's
// zero-shot head on the same f, its class text embeddings computed once;
// ResNet towers keep their BatchNorm statistics; with RST the tower
// elements within τ of the pre-trained weights are reset after every step.
// After every epoch the target is evaluated in evaluation mode; the result
// reports the last epoch and, separately, the best epoch, which is chosen
// with the target's labels (an oracle, as the paper's numbers are). A run
// resumed from its checkpoint reproduces the uninterrupted run bit for bit
// (same seed and thread count). Training stops with a DivergedError at the
// first non-finite loss term or gradient.
//
// # Notation
//
// B_s and B_t are the source and target batch sizes, C the number of
// classes, D the embedding width. z_s and z_t are the task head's logits on
// source and target, z_gs and z_gt the zero-shot (teacher) head's; p_h =
// softmax(z_t), p_g = softmax(z_gt); sg is stop-gradient.
package uda
