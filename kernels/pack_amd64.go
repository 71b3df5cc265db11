//go:build amd64 && !purego

package kernels

// packAsm reports whether the assembly packers serve isa: every assembly
// path has AVX, which is all they need.
func packAsm(isa ISA) bool { return isa != Generic }

// packCopy32 sets dst[p*ldd+j] = src[p*lds+j] for p < rows, j < 32.
func packCopy32(dst []float32, ldd int, src []float32, lds, rows int) {
	if rows <= 0 {
		return
	}
	_ = dst[(rows-1)*ldd+31]
	_ = src[(rows-1)*lds+31]
	packCopy32AVX(&dst[0], ldd, &src[0], lds, rows)
}

// packCopy16 sets dst[p*ldd+j] = src[p*lds+j] for p < rows, j < w ≤ 16,
// and may write dst[p*ldd+j] for w ≤ j < 16.
func packCopy16(dst []float32, ldd int, src []float32, lds, rows, w int) {
	if rows <= 0 {
		return
	}
	_ = dst[(rows-1)*ldd+15]
	_ = src[(rows-1)*lds+w-1]
	packCopy16AVX(&dst[0], ldd, &src[0], lds, rows, &avx2Masks[16-w])
}

// packInterleave4 sets dst[p*ldd+i] = src[i*lds+p] for i < 4, p < n, n a
// multiple of 8.
func packInterleave4(dst []float32, ldd int, src []float32, lds, n int) {
	if n <= 0 {
		return
	}
	_ = dst[(n-1)*ldd+3]
	_ = src[3*lds+n-1]
	packInterleave4AVX(&dst[0], ldd, &src[0], lds, n)
}
