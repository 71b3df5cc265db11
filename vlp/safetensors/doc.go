// Package safetensors reads and writes the safetensors tensor file format.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON, and
// the tensor data. The JSON object maps each tensor name to its dtype, shape
// and byte range [begin, end) in the data that follows the header; the
// optional key "__metadata__" holds a string-to-string map:
//
//	{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}
//
// Parse checks everything a file claims before it is used: the header
// length against the file size, the JSON, every dtype, that each byte range
// lies in the data and matches its shape, and that no two ranges overlap.
// Each failure is an error that names the tensor and the problem.
//
// Write lays tensors out by element size, largest first, then by name, so
// every tensor is naturally aligned and the same tensors always give the
// same bytes; the header lists them in that order. WriteFile and
// ReplaceFile write through a temporary file in the destination's folder,
// synced and renamed into place, so a crash never leaves half a file; only
// ReplaceFile replaces an existing file.
package safetensors
