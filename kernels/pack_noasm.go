//go:build !amd64 || purego

package kernels

// packAsm reports false: this build has no assembly packers.
func packAsm(ISA) bool { return false }

// packCopy32 sets dst[p*ldd+j] = src[p*lds+j] for p < rows, j < 32.
func packCopy32(dst []float32, ldd int, src []float32, lds, rows int) {
	for p := 0; p < rows; p++ {
		copy(dst[p*ldd:p*ldd+32], src[p*lds:p*lds+32])
	}
}

// packCopy16 sets dst[p*ldd+j] = src[p*lds+j] for p < rows, j < w ≤ 16.
func packCopy16(dst []float32, ldd int, src []float32, lds, rows, w int) {
	for p := 0; p < rows; p++ {
		copy(dst[p*ldd:p*ldd+w], src[p*lds:p*lds+w])
	}
}

// packInterleave4 sets dst[p*ldd+i] = src[i*lds+p] for i < 4, p < n.
func packInterleave4(dst []float32, ldd int, src []float32, lds, n int) {
	for p := 0; p < n; p++ {
		for i := 0; i < 4; i++ {
			dst[p*ldd+i] = src[i*lds+p]
		}
	}
}
