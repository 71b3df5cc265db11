// Package bench measures vlpuda against its peers on the same machine in the
// same run: the GEMM kernels against gonum (and, through the scripts in
// bench/openblas, against OpenBLAS), and the CLIP towers against PyTorch
// (bench/pytorch) and ONNX Runtime (bench/ort).
//
// Each measurement returns plain records that the vlpuda bench command prints
// as a table or as JSON lines. Time only on an otherwise idle machine: other
// processes on the same cores make two-thread numbers fall to one-thread ones.
package bench
