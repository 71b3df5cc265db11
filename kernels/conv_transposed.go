package kernels

import "fmt"

// Transposed lowering: when a chunk of the forward pass has few output
// positions (the 7×7 stage of a ResNet on one image has 49), its GEMM
// y (K/G, nb·L) = w · col is short and wide, and the micro-kernels waste
// much of their last 16- or 32-column tile (49 columns fill 49 of 64). The
// transpose of the same product,
//
//	yᵀ (nb·L, K/G) = colᵀ · wᵀ,
//
// puts the positions on the rows, where panels of balanced heights fill the
// register tile, and the filters on the columns, where a pre-packed wᵀ
// (PackConv) is read instead of packed on every call. yᵀ is then copied to
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
var convTransposedCols = 128

// transposed reports whether the forward pass of chunks of nb images uses
// the transposed lowering.
func (c *convPlan) transposed(nb int) bool { return nb*c.l <= convTransposedCols }

// forwardT computes group g of the output of images n0..n0+nb-1 through
// the transposed lowering, with tmp holding yᵀ (nb·L, K/G) and col the
// column matrix when the images are not read in place, and stores it in
// dst (N, K, OH, OW) with the epilogue ep. pb, when not nil, holds w_gᵀ
// packed; otherwise wg is packed on the way.
func (c *convPlan) forwardT(dst, tmp, wg []float32, pb *PackedB, x, col []float32, n0, nb, g int, ep ConvEpilogue) {
	cols := nb * c.l
	a := c.columns(col, x, n0, nb, g) // (CRS, cols): colᵀ is A transposed
	tmp = tmp[:cols*c.kg]
	if pb != nil {
		SgemmPacked(true, cols, 1, a, cols, pb, 0, tmp, c.kg)
	} else {
		Sgemm(true, true, cols, c.kg, c.crs, 1, a, cols, wg, c.crs, 0, tmp, c.kg)
	}
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

// PackedConv holds the filters of a convolution packed once, for the
// forward passes of a model whose weights do not change (inference): the
// GEMMs of Conv2dPacked then read them instead of packing them on every
// call. Build it with PackConv, a copy in both lowerings' layouts, or
// PackConvInPlace, the direct lowering's layout in the filters' own
// storage. It is read-only and safe for concurrent use.
type PackedConv struct {
	k, cg, r, s, groups int
	wa                  []*packedA // w_g (K/G, C/G·R·S) for each group g
	wt                  []*PackedB // w_gᵀ (C/G·R·S, K/G), or nil when packed in place
}

// PackConv packs the filters w (K, C/groups, R, S) of a convolution with
// K output and C input channels for Conv2dPacked, into new memory twice
// their size: as the GEMM's left operand for the direct lowering, and
// transposed as its right operand for the chunks of few output positions.
// It does not see later writes to w. It panics on bad arguments, like
// Conv2d.
func PackConv(w []float32, k, c, r, s, groups int) *PackedConv {
	pc := newPackedConv("PackConv", w, k, c, r, s, groups)
	kg, crs := pc.kg(), pc.crs()
	for g := range groups {
		wg := w[g*kg*crs : (g+1)*kg*crs]
		pc.wa = append(pc.wa, packA(kg, crs, wg, crs))
		pc.wt = append(pc.wt, PackB(true, crs, kg, wg, crs))
	}
	return pc
}

// PackConvInPlace packs the filters w (K, C/groups, R, S) for Conv2dPacked
// like PackConv, into w's own storage and in the direct lowering's layout
// alone, which every chunk then takes (the transposed lowering, for a few
// output positions, needs the other). Packing takes a copy of w for a
// moment, no memory after. Until UnpackInPlace, w holds the packed layout,
// not the filters. It panics on bad arguments, like Conv2d.
func PackConvInPlace(w []float32, k, c, r, s, groups int) *PackedConv {
	pc := newPackedConv("PackConvInPlace", w, k, c, r, s, groups)
	kg, crs := pc.kg(), pc.crs()
	for g := range groups {
		pc.wa = append(pc.wa, packAInPlace(w[g*kg*crs:(g+1)*kg*crs], kg, crs))
	}
	return pc
}

// UnpackInPlace undoes PackConvInPlace: w holds the filters again, bit for
// bit, and pc must not be used any more. It panics when pc was not packed
// in place.
func (pc *PackedConv) UnpackInPlace() {
	if pc.wt != nil {
		panic("kernels: PackedConv.UnpackInPlace: the filters were not packed in place")
	}
	for _, pa := range pc.wa {
		pa.unpackInPlace()
	}
	pc.wa = nil
}

// newPackedConv checks the filters w of PackConv or PackConvInPlace and
// returns their PackedConv, with nothing packed yet.
func newPackedConv(op string, w []float32, k, c, r, s, groups int) *PackedConv {
	if k < 1 || c < 1 || r < 1 || s < 1 || groups < 1 || c%groups != 0 || k%groups != 0 {
		panic(fmt.Sprintf("kernels: %s: bad filters K=%d C=%d R=%d S=%d groups=%d", op, k, c, r, s, groups))
	}
	pc := &PackedConv{k: k, cg: c / groups, r: r, s: s, groups: groups}
	checkConvLen(op, "w", len(w), k*pc.crs())
	return pc
}

// kg and crs return the filters per group and the length of one filter.
func (pc *PackedConv) kg() int  { return pc.k / pc.groups }
func (pc *PackedConv) crs() int { return pc.cg * pc.r * pc.s }

// matches reports whether pc holds filters of the shape p needs.
func (pc *PackedConv) matches(p ConvParams) bool {
	return pc.k == p.K && pc.cg == p.C/p.Groups && pc.r == p.R && pc.s == p.S && pc.groups == p.Groups
}
