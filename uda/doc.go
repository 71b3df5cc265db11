// Package uda adapts a CLIP image tower to an unlabelled target domain with
// the method of Zhou & Zhou, "Unsupervised Domain Adaption Harnessing
// Vision-Language Pre-training" (IEEE TCSVT 2024, arXiv 2408.02192): the
// task head, Cross-Modal Knowledge Distillation (CMKD), FixMatch on both
// heads, and their ramped loss weights. The specification is
// shared/method/paper-spec.md; the losses follow the authors' code by
// default (VariantCode) and the paper's printed equations on request
// (VariantPaper).
//
// # Files
//
//	head.go      Head: BatchNorm1d (frozen bias) → LayerNorm → Linear
//	lambda.go    Ramp: the dynamic factor λ_dyn(t)
//	losses.go    GiniCalibrated, Gini, Alpha, TeacherLogits; Objective,
//	             Logits and Loss assemble one iteration's loss; CheckFinite
//	fixmatch.go  FixMatch, one head's masked pseudo-label term
//
// # Notation
//
// B_s and B_t are the source and target batch sizes, C the number of
// classes, D the embedding width. z_s and z_t are the task head's logits on
// source and target, z_gs and z_gt the zero-shot (teacher) head's; p_h =
// softmax(z_t), p_g = softmax(z_gt); sg is stop-gradient.
package uda
