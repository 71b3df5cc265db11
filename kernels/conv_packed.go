package kernels

import "fmt"

// PackedConv holds the filters of a convolution packed once, for the
// forward passes of a model whose weights do not change (inference): the
// GEMMs of Conv2dPacked then read them instead of packing them in every
// call and for every chunk of images. Build it with PackConv, a copy, or
// PackConvInPlace, in the filters' own storage. It is read-only and safe
// for concurrent use.
type PackedConv struct {
	k, cg, r, s, groups int
	wa                  []*packedA // w_g (K/G, C/G·R·S) for each group g
	inPlace             bool
}

// PackConv packs the filters w (K, C/groups, R, S) of a convolution with
// K output and C input channels for Conv2dPacked, into new memory of
// their size. It does not see later writes to w. It panics on bad
// arguments, like Conv2d.
func PackConv(w []float32, k, c, r, s, groups int) *PackedConv {
	pc := newPackedConv("PackConv", w, k, c, r, s, groups)
	kg, crs := pc.kg(), pc.crs()
	for g := range groups {
		pc.wa = append(pc.wa, packA(kg, crs, w[g*kg*crs:(g+1)*kg*crs], crs))
	}
	return pc
}

// PackConvInPlace packs the filters w (K, C/groups, R, S) for Conv2dPacked
// like PackConv, into w's own storage. Packing copies w to a scratch
// buffer for a moment; no memory is kept. Until UnpackInPlace, w holds the
// packed layout, not the filters. It panics on bad arguments, like Conv2d.
func PackConvInPlace(w []float32, k, c, r, s, groups int) *PackedConv {
	pc := newPackedConv("PackConvInPlace", w, k, c, r, s, groups)
	pc.inPlace = true
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
	if !pc.inPlace {
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
