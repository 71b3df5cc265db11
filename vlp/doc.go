// Package vlp holds CLIP on the vlpuda engine: the model built from a
// configuration (clip.go, config.go), loading it from the checkpoint formats
// users bring (load.go, with the readers in the safetensors and torchpt
// packages beside this one), image preprocessing (preprocess.go) and the
// zero-shot classifier (zeroshot.go). The tokenizer is package
// vlp/tokenizer.
package vlp
