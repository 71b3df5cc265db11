package kernels

// Transposed lowering: when a chunk of the forward pass has few output
// positions (the 7×7 stage of a ResNet on one image has 49), its GEMM
// y (K/G, nb·L) = w · col is short and wide, and the micro-kernels waste
// much of their last 16- or 32-column tile (49 columns fill 49 of 64). The
// transpose of the same product,
//
//	yᵀ (nb·L, K/G) = colᵀ · wᵀ,
//
// puts the positions on the rows, where panels of balanced heights fill the
// register tile, and the filters on the columns. yᵀ is then copied to
// NCHW with the epilogue applied row by row. Every output element is the
// same fused multiply-add chain over the same KC blocks of k in the same
// order as in the direct lowering, so the two are equal bit for bit.

// convTransposedCols is the most columns nb·L for which the forward pass
// takes the transposed lowering. Measured on Zen 3 with the two lowerings
// alternating call by call (RN50's layers, 2 threads): at 49 and 98 columns
// (7×7 outputs of one and two images) the transposed one is 1.1–1.5× as
// fast, and 1.2–1.3× faster again with the filters packed by PackConv; at
// 196 and more it is no faster even with packed filters, and at 392 and
// more slower (its column matrix is explicit, the direct one packs its
// strips straight from x). In a whole RN50 tower at batch 1, whose weights
// stream from memory, the 7×7 stage ran 18.3 → 13.8 ms (10.7 packed) and
// the tower 2.5 % faster (5.5 % packed).
//
// Filters packed once for the direct lowering (PackConv) turned that
// around: on Zen 5, 2 threads, RN50's 7×7 layers at batch 1 took 1.9–4.9
// ms per tower direct with packed filters against 2.0–10.1 transposed with
// wᵀ packed (BenchmarkConv2dRN50 layer/N1inplace and N1packed, medians of
// 3 rounds), so Conv2dPacked always takes the direct lowering.
var convTransposedCols = 128

// transposed reports whether the forward pass of chunks of nb images uses
// the transposed lowering.
func (c *convPlan) transposed(nb int) bool { return nb*c.l <= convTransposedCols }

// forwardT computes group g of the output of images n0..n0+nb-1 through
// the transposed lowering, with tmp holding yᵀ (nb·L, K/G) and col the
// column matrix when the images are not read in place, and stores it in
// dst (N, K, OH, OW) with the epilogue ep.
func (c *convPlan) forwardT(dst, tmp, wg, x, col []float32, n0, nb, g int, ep ConvEpilogue) {
	cols := nb * c.l
	a := c.columns(col, x, n0, nb, g) // (CRS, cols): colᵀ is A transposed
	tmp = tmp[:cols*c.kg]
	Sgemm(true, true, cols, c.kg, c.crs, 1, a, cols, wg, c.crs, 0, tmp, c.kg)
	c.scatterT(dst, tmp, n0, nb, g, ep)
}

// scatterT copies the (nb·L, K/G) transposed GEMM result tmp of group g to
// dst (NCHW) and applies the epilogue ep to each row of dst it fills.
// Channels go to the threads in blocks of 16, so that a thread reads whole
// cache lines of tmp.
func (c *convPlan) scatterT(dst, tmp []float32, n0, nb, g int, ep ConvEpilogue) {
	const block = 16
	cols := nb * c.l
	eps := make([]Epilogue, nb)
	for i := range eps {
		eps[i] = c.epilogue(ep, n0+i, g)
	}
	blocks := (c.kg + block - 1) / block
	ParallelFor(blocks, max(1, grainArith/(block*cols)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			k0, k1 := b*block, min(c.kg, (b+1)*block)
			for i := 0; i < nb; i++ {
				y := dst[((n0+i)*c.K+g*c.kg)*c.l : ((n0+i)*c.K+(g+1)*c.kg)*c.l]
				src := tmp[i*c.l*c.kg:]
				for q := 0; q < c.l; q++ {
					row := src[q*c.kg+k0 : q*c.kg+k1]
					for k, v := range row {
						y[(k0+k)*c.l+q] = v
					}
				}
				eps[i].apply(y, c.l, k0, k1, 0, c.l)
			}
		}
	})
}
