//go:build !amd64 || purego

package kernels

// Without assembly every ISA entry runs the pure-Go primitives; Supported
// never offers AVX2 or AVX512 here, so these only keep the table total.
var (
	eltwiseAVX2   = eltwiseGeneric
	eltwiseAVX512 = eltwiseGeneric
)
