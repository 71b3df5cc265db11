//go:build amd64 && !purego

package kernels

// The micro-kernels of sgemm_amd64.s, indexed by the number of rows of the tile.
var (
	sgemmTilesAVX512 = [mrAVX512 + 1]func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask uint32, pf *float32, pfstride int){
		nil,
		sgemm1x32AVX512, sgemm2x32AVX512, sgemm3x32AVX512, sgemm4x32AVX512,
		sgemm5x32AVX512, sgemm6x32AVX512, sgemm7x32AVX512, sgemm8x32AVX512,
		sgemm9x32AVX512, sgemm10x32AVX512, sgemm11x32AVX512, sgemm12x32AVX512,
	}
	sgemmTilesAVX2 = [mrAVX2 + 1]func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask *int32, pf *float32, pfstride int){
		nil,
		sgemm1x16AVX2, sgemm2x16AVX2, sgemm3x16AVX2,
		sgemm4x16AVX2, sgemm5x16AVX2, sgemm6x16AVX2,
	}
)

// Register tiles of the assembly kernels.
const (
	mrAVX512 = 12 // 12×32: 24 zmm accumulators
	nrAVX512 = 32
	mrAVX2   = 6 // 6×16: 12 ymm accumulators
	nrAVX2   = 16
)

var (
	kernelAVX512 = &sgemmKernel{isa: AVX512, mr: mrAVX512, nr: nrAVX512, tile: sgemmTileAVX512}
	kernelAVX2   = &sgemmKernel{isa: AVX2, mr: mrAVX2, nr: nrAVX2, tile: sgemmTileAVX2}
)

// avx2Masks[16-nr:] holds the VMASKMOVPS mask that selects the first nr of 16 columns.
var avx2Masks = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// sgemmTileAVX512 checks the bounds the assembly relies on and runs the
// mr-row AVX-512 kernel on nr ≤ 32 columns.
func sgemmTileAVX512(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, pf *float32, pfStride int) {
	_ = a[kc*mr-1]
	_ = b[(kc-1)*ldb+nrAVX512-1]
	_ = c[(mr-1)*ldc+nr-1]
	if pf == nil {
		pf, pfStride = &b[0], 0
	}
	sgemmTilesAVX512[mr](kc, &a[0], &b[0], ldb, &c[0], ldc, alpha, beta, uint32(1<<nr-1), pf, 4*pfStride)
}

// sgemmTileAVX2 checks the bounds the assembly relies on and runs the
// mr-row AVX2 kernel on nr ≤ 16 columns.
func sgemmTileAVX2(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, pf *float32, pfStride int) {
	_ = a[kc*mr-1]
	_ = b[(kc-1)*ldb+nrAVX2-1]
	_ = c[(mr-1)*ldc+nr-1]
	var mask *int32
	if nr < nrAVX2 {
		mask = &avx2Masks[nrAVX2-nr]
	}
	if pf == nil {
		pf, pfStride = &b[0], 0
	}
	sgemmTilesAVX2[mr](kc, &a[0], &b[0], ldb, &c[0], ldc, alpha, beta, mask, pf, 4*pfStride)
}

// asmKernel returns the assembly micro-kernel for isa, or nil.
func asmKernel(isa ISA) *sgemmKernel {
	switch isa {
	case AVX512:
		return kernelAVX512
	case AVX2:
		return kernelAVX2
	}
	return nil
}

// fmaPeak runs the register-only FMA loop of isa for n iterations and
// returns the FLOP it performed, or 0 when isa has no such loop.
func fmaPeak(isa ISA, n int) float64 {
	switch isa {
	case AVX512:
		fmaPeakAVX512(n)
		return float64(n) * 24 * 16
	case AVX2:
		fmaPeakAVX2(n)
		return float64(n) * 24 * 8
	}
	return 0
}
