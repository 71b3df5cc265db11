// Package dtype names the element types that checkpoint files store and
// converts their little-endian bytes to float32.
//
// The half-precision conversions (IEEE 754 binary16 and bfloat16) are written
// out bit by bit rather than borrowed: they are exact for every one of the
// 65536 bit patterns, including subnormals, infinities and NaN payloads, and
// the tests check that exhaustively against a float64 computation.
//
// Readers of safetensors and PyTorch files (vlp/safetensors and
// vlp/torchpt) describe their tensors with a DType, so the CLIP loader
// sees one set of names whatever the file format.
package dtype
