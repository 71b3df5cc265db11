//go:build arm64 && !purego

package kernels

// Register tile of the NEON kernels: 12×8, 24 accumulators of 4 floats,
// two registers of B and three of A out of 32.
const (
	mrNEON = 12
	nrNEON = 8
)

var kernelNEON = &sgemmKernel{isa: NEON, mr: mrNEON, nr: nrNEON, tile: sgemmTileNEON}

// sgemmTileNEON checks the bounds the assembly relies on and runs the
// mr-row NEON kernel on nr ≤ 8 columns. The kernels store 8 columns, so a
// narrower tile goes through a full one on the stack: the same operations
// on every element, hence the same bits.
func sgemmTileNEON(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, pf *float32, pfStride int) {
	_ = a[kc*mr-1]
	_ = b[(kc-1)*ldb+nrNEON-1]
	_ = c[(mr-1)*ldc+nr-1]
	if pf == nil {
		pf, pfStride = &b[0], 0
	}
	if nr == nrNEON {
		sgemmNEON(mr, kc, &a[0], &b[0], ldb, &c[0], ldc, alpha, beta, pf, 4*pfStride)
		return
	}
	var t [mrNEON * nrNEON]float32
	if beta != 0 {
		for i := range mr {
			copy(t[i*nrNEON:i*nrNEON+nr], c[i*ldc:i*ldc+nr])
		}
	}
	sgemmNEON(mr, kc, &a[0], &b[0], ldb, &t[0], nrNEON, alpha, beta, pf, 4*pfStride)
	for i := range mr {
		copy(c[i*ldc:i*ldc+nr], t[i*nrNEON:i*nrNEON+nr])
	}
}

// sgemmNEON runs the mr-row kernel of sgemm_arm64.s. It calls each one
// directly, not through a table of funcs, so that escape analysis sees
// their go:noescape and sgemmTileNEON's tile stays on the stack.
func sgemmNEON(mr, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pf *float32, pfstride int) {
	switch mr {
	case 1:
		sgemm1x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 2:
		sgemm2x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 3:
		sgemm3x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 4:
		sgemm4x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 5:
		sgemm5x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 6:
		sgemm6x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 7:
		sgemm7x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 8:
		sgemm8x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 9:
		sgemm9x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 10:
		sgemm10x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 11:
		sgemm11x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	case 12:
		sgemm12x8NEON(k, a, b, ldb, c, ldc, alpha, beta, pf, pfstride)
	default:
		panic("kernels: NEON tile of more than 12 rows")
	}
}

// asmKernel returns the assembly micro-kernel for isa, or nil.
func asmKernel(isa ISA) *sgemmKernel {
	if isa == NEON {
		return kernelNEON
	}
	return nil
}

// fmaPeak runs the register-only FMA loop of isa for n iterations and
// returns the FLOP it performed, or 0 when isa has no such loop.
func fmaPeak(isa ISA, n int) float64 {
	if isa == NEON {
		fmaPeakNEON(n)
		return float64(n) * 24 * 8
	}
	return 0
}
