package kernels

// sgemmKernel is a micro-kernel: the innermost step of the blocked SGEMM,
// which updates one tile of at most mr×nr elements of C.
type sgemmKernel struct {
	isa ISA
	mr  int // rows of the register tile, broadcast from packed A
	nr  int // columns of the register tile, loaded from B; divides stripWidth

	// tile computes, for i < mr and j < nr,
	//
	//	c[i*ldc+j] = alpha * Σ_p a[p*mr+i]*b[p*ldb+j] + beta*c[i*ldc+j]
	//
	// with p < kc, without reading c when beta == 0. a is a packed micro-panel
	// of mr ≤ k.mr rows; b holds kc rows of k.nr readable floats, of which the
	// first nr ≤ k.nr are used. Unless pf is nil, the kernel also prefetches
	// the two cache lines at pf, pf+pfStride, … (pfStride in floats), one
	// pair per 4 steps of p: the driver points it at the next strip of B.
	tile func(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, pf *float32, pfStride int)
}

// stripWidth is the column width of every packed B strip, whatever the
// kernel: a multiple of each kernel's nr, so one packed layout serves all ISAs.
const stripWidth = 32

// Register tile of the pure-Go kernel. With 2×4 the 8 accumulators and 6
// operands stay in registers; the Go compiler spills a 4×4 tile on amd64,
// which halves the speed (3.5 against 7 GFLOP/s measured on Zen 3).
const (
	mrGeneric = 2
	nrGeneric = 4
)

var kernelGeneric = &sgemmKernel{isa: Generic, mr: mrGeneric, nr: nrGeneric, tile: sgemmTileGeneric}

// kernelFor returns the micro-kernel of isa.
func kernelFor(isa ISA) *sgemmKernel {
	if k := asmKernel(isa); k != nil {
		return k
	}
	return kernelGeneric
}

// sgemmTileGeneric is the pure-Go micro-kernel, with the contract of
// sgemmKernel.tile for mr ≤ 2 and nr ≤ 4. It does not prefetch.
func sgemmTileGeneric(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, _ *float32, _ int) {
	if mr != mrGeneric || nr != nrGeneric {
		sgemmTileGenericEdge(kc, a, b, ldb, c, ldc, alpha, beta, mr, nr)
		return
	}
	c00, c01, c02, c03, c10, c11, c12, c13 := dot2x4(kc, a, b, ldb)
	storeRow4(c[0:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(c[ldc:ldc+4], alpha, beta, c10, c11, c12, c13)
}

// dot2x4 returns the 2×4 products of a packed 2-row micro-panel and kc rows
// of b, each one chain of fused multiply-adds as in the assembly kernels.
// It is apart from sgemmTileGeneric so that alpha and beta do not take two
// of the registers the loop needs.
func dot2x4(kc int, a, b []float32, ldb int) (c00, c01, c02, c03, c10, c11, c12, c13 float32) {
	a = a[:kc*2]
	for p := 0; p < kc; p++ {
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		ap := a[p*2 : p*2+2 : p*2+2]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0, a1 := ap[0], ap[1]
		c00 = fma32(a0, b0, c00)
		c01 = fma32(a0, b1, c01)
		c02 = fma32(a0, b2, c02)
		c03 = fma32(a0, b3, c03)
		c10 = fma32(a1, b0, c10)
		c11 = fma32(a1, b1, c11)
		c12 = fma32(a1, b2, c12)
		c13 = fma32(a1, b3, c13)
	}
	return
}

// storeRow4 stores alpha*v + beta*c to c[:4] as the assembly kernels do:
// the product with alpha rounded, then beta*c fused onto it (c is not read
// when beta == 0).
func storeRow4(c []float32, alpha, beta float32, v0, v1, v2, v3 float32) {
	c = c[:4]
	c[0] = storeC(c[0], alpha, beta, v0)
	c[1] = storeC(c[1], alpha, beta, v1)
	c[2] = storeC(c[2], alpha, beta, v2)
	c[3] = storeC(c[3], alpha, beta, v3)
}

// storeC returns the new value of an element c of C whose k-sum is acc.
func storeC(c, alpha, beta, acc float32) float32 {
	v := float32(alpha * acc)
	if beta == 0 {
		return v
	}
	return fma32(beta, c, v)
}

// sgemmTileGenericEdge handles the partial tiles of sgemmTileGeneric.
func sgemmTileGenericEdge(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	var acc [mrGeneric * nrGeneric]float32
	for p := 0; p < kc; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*ldb : p*ldb+nr]
		for i, ai := range ap {
			row := acc[i*nrGeneric : i*nrGeneric+nr]
			for j, bj := range bp {
				row[j] = fma32(ai, bj, row[j])
			}
		}
	}
	for i := 0; i < mr; i++ {
		ci := c[i*ldc : i*ldc+nr]
		for j := range ci {
			ci[j] = storeC(ci[j], alpha, beta, acc[i*nrGeneric+j])
		}
	}
}
