package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// arch describes one vector instruction set. Every kernel is written once
// against it; only the register width, the tail mask and the horizontal
// reductions differ between AVX2 and AVX-512.
type arch struct {
	name  string // suffix of the generated symbols
	lanes int    // float32 lanes per vector
	vec   func() VecVirtual

	// Tail state of the function being generated: the opmask (AVX-512) or
	// the mask vector (AVX2) enabling the first n%lanes lanes.
	k    OpmaskVirtual
	mask VecVirtual
}

var (
	avx2   = &arch{name: "AVX2", lanes: 8, vec: YMM}
	avx512 = &arch{name: "AVX512", lanes: 16, vec: ZMM}
)

func (a *arch) bytes() int { return 4 * a.lanes }

func (a *arch) isAVX512() bool { return a.lanes == 16 }

// fn starts a generated function named base+ISA with the given Go signature
// and doc lines (the Go loop it computes).
func (a *arch) fn(base, sig string, doc ...string) {
	name := base + a.name
	TEXT(name, NOSPLIT, "func"+sig)
	lines := []string{fmt.Sprintf("%s is the %s form of:", name, a.name), ""}
	for _, d := range doc {
		lines = append(lines, "\t"+d)
	}
	Doc(lines...)
	Pragma("noescape")
}

// broadcast loads the float32 parameter name into every lane of a vector.
func (a *arch) broadcast(name string) VecVirtual {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	v := a.vec()
	VBROADCASTSS(b.Addr, v)
	return v
}

// splat returns a vector register holding constant c in every lane.
func (a *arch) splat(c int) VecVirtual {
	v := a.vec()
	VMOVUPS(cst(c), v)
	return v
}

// prepareTail sets up the mask for the last n < lanes elements.
func (a *arch) prepareTail(n GPVirtual) {
	tbl := GP64()
	if a.isAVX512() {
		// k = 1<<n - 1, read from a table of 16-bit masks.
		LEAQ(tailMask16, tbl)
		a.k = K()
		KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, a.k)
		return
	}
	// The mask is 8 dwords read from 8×-1 followed by 8×0, starting 8-n in.
	idx := GP64()
	MOVQ(U32(8), idx)
	SUBQ(n, idx)
	LEAQ(tailMask8, tbl)
	a.mask = YMM()
	VMOVDQU(Mem{Base: tbl, Index: idx, Scale: 4}, a.mask)
}

// load reads a vector from m, masked in the tail (inactive lanes read 0).
func (a *arch) load(m Mem, tail bool) VecVirtual {
	v := a.vec()
	switch {
	case !tail:
		VMOVUPS(m, v)
	case a.isAVX512():
		VMOVUPS_Z(m, a.k, v)
	default:
		VMASKMOVPS(m, a.mask, v)
	}
	return v
}

// store writes v to m, only the active lanes in the tail.
func (a *arch) store(v VecVirtual, m Mem, tail bool) {
	switch {
	case !tail:
		VMOVUPS(v, m)
	case a.isAVX512():
		VMOVUPS(v, a.k, m)
	default:
		VMASKMOVPS(v, a.mask, m)
	}
}

// zeroInactive clears the lanes past the end in the tail, so a sum ignores them.
func (a *arch) zeroInactive(v VecVirtual, tail bool) {
	switch {
	case !tail:
	case a.isAVX512():
		VMOVAPS_Z(v, a.k, v)
	default:
		VANDPS(a.mask, v, v)
	}
}

// fillInactive sets the lanes past the end to the constant c in the tail.
func (a *arch) fillInactive(v VecVirtual, c int, tail bool) {
	if !tail {
		return
	}
	f := a.splat(c)
	if a.isAVX512() {
		// v = k ? v : f
		VBLENDMPS(v, f, a.k, v)
		return
	}
	// v = mask ? v : f
	VBLENDVPS(a.mask, v, f, v)
}

// selectNeg returns x < 0 (sign bit set) ? neg : pos.
func (a *arch) selectNeg(x, neg, pos VecVirtual) VecVirtual {
	r := a.vec()
	if a.isAVX512() {
		k := K()
		VPMOVD2M(x, k)
		VBLENDMPS(neg, pos, k, r)
		return r
	}
	VBLENDVPS(x, neg, pos, r)
	return r
}

// loop emits a loop over n elements that calls body for every vector with
// the byte offset off of that vector, unroll vectors per iteration, then
// single vectors, then one masked vector for the remaining n%lanes elements.
// n and off are clobbered.
func (a *arch) loop(n GPVirtual, unroll int, body func(off Register, j int, tail bool)) {
	off := GP64()
	XORQ(off, off)
	if unroll > 1 {
		Label("loop")
		CMPQ(n, U32(unroll*a.lanes))
		JB(LabelRef("single"))
		for j := 0; j < unroll; j++ {
			body(off, j, false)
		}
		ADDQ(U32(unroll*a.bytes()), off)
		SUBQ(U32(unroll*a.lanes), n)
		JMP(LabelRef("loop"))
	}
	Label("single")
	CMPQ(n, U32(a.lanes))
	JB(LabelRef("tail"))
	body(off, 0, false)
	ADDQ(U32(a.bytes()), off)
	SUBQ(U32(a.lanes), n)
	JMP(LabelRef("single"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	a.prepareTail(n)
	body(off, 0, true)
	Label("done")
}

// Every sum over a vector follows one canonical order, on both ISAs and in
// the generic code: element i is added, in order, to partial sum i%16, and
// the 16 partial sums are combined by halving, p[l] += p[l+h] for l < h,
// with h = 8, 4, 2, 1. One AVX-512 vector holds the 16 partials; AVX2 holds
// them in two (lanes 0-7 and 8-15), and the float64 forms in twice as many.

// reduceVecs is the number of vectors that hold the 16 partial sums.
func (a *arch) reduceVecs() int { return 16 / a.lanes }

// loop16 emits a loop over n elements in blocks of 16: it calls body for
// vector j < reduceVecs() of each block, whose elements go to the partial
// sums held by accumulator j, and then for the masked vectors of the last
// n%16 elements (an AVX2 vector past the end is skipped). n and off are
// clobbered.
func (a *arch) loop16(n GPVirtual, body func(off Register, j int, tail bool)) {
	off := GP64()
	XORQ(off, off)
	Label("block")
	CMPQ(n, U32(16))
	JB(LabelRef("tail"))
	for j := range a.reduceVecs() {
		body(off, j, false)
	}
	ADDQ(U32(64), off)
	SUBQ(U32(16), n)
	JMP(LabelRef("block"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	if a.isAVX512() {
		a.prepareTail(n)
		body(off, 0, true)
	} else {
		// The first vector takes min(n, 8) elements, the second the rest.
		n1 := GP64()
		MOVQ(n, n1)
		CMPQ(n1, U32(8))
		JB(LabelRef("half"))
		MOVQ(U32(8), n1)
		Label("half")
		SUBQ(n1, n)
		a.prepareTail(n1)
		body(off, 0, true)
		TESTQ(n, n)
		JZ(LabelRef("done"))
		a.prepareTail(n)
		body(off, 1, true)
	}
	Label("done")
}

// zeros returns k zeroed vector registers.
func (a *arch) zeros(k int) []VecVirtual {
	v := make([]VecVirtual, k)
	for i := range v {
		v[i] = a.zero()
	}
	return v
}

// reduceAdd16 returns the sum of the 16 float32 partial sums in acc (one
// vector per reduceVecs), combined in the canonical order.
func (a *arch) reduceAdd16(acc []VecVirtual) VecVirtual {
	if !a.isAVX512() {
		VADDPS(acc[1], acc[0], acc[0]) // p[l] + p[l+8]
	}
	return a.reduceAdd(acc[0])
}

// reduceAddPD16 returns the sum of the 16 float64 partial sums in lo and hi
// (the widened halves of the vectors of loop16's accumulators), combined in
// the canonical order and rounded to float32.
func (a *arch) reduceAddPD16(lo, hi []VecVirtual) VecVirtual {
	if !a.isAVX512() {
		// Partials 0-3, 4-7 | 8-11, 12-15: first p[l] + p[l+8].
		VADDPD(lo[1], lo[0], lo[0])
		VADDPD(hi[1], hi[0], hi[0])
	}
	// AVX-512: p[l] + p[l+8]; AVX2: p[l] + p[l+4] of the 8 left.
	VADDPD(hi[0], lo[0], lo[0])
	return a.reduceAddPD(lo[0])
}

// at returns the memory operand of vector j at byte offset off from base p.
func (a *arch) at(p, off Register, j int) Mem {
	return Mem{Base: p, Index: off, Scale: 1, Disp: j * a.bytes()}
}

// reduceAdd returns the sum of the float32 lanes of v in the low lane of an
// XMM register.
func (a *arch) reduceAdd(v VecVirtual) VecVirtual {
	return a.reduce(v, func(x, y, z Op) { VADDPS(x, y, z) }, func(x, y, z Op) { VADDSS(x, y, z) })
}

// reduceMax returns the maximum of the float32 lanes of v.
func (a *arch) reduceMax(v VecVirtual) VecVirtual {
	return a.reduce(v, func(x, y, z Op) { VMAXPS(x, y, z) }, func(x, y, z Op) { VMAXSS(x, y, z) })
}

func (a *arch) reduce(v VecVirtual, op, ops func(x, y, z Op)) VecVirtual {
	y := v
	if a.isAVX512() {
		y = YMM()
		VEXTRACTF32X8(U8(1), v, y)
		op(y, v.AsY(), y)
	}
	x := XMM()
	a.extractHigh128(y, x)
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	VMOVSHDUP(x, t)
	ops(t, x, x)
	return x
}

// reduceAddPD returns the sum of the float64 lanes of v, rounded to float32,
// in the low lane of an XMM register.
func (a *arch) reduceAddPD(v VecVirtual) VecVirtual {
	y := v
	if a.isAVX512() {
		y = YMM()
		VEXTRACTF64X4(U8(1), v, y)
		VADDPD(y, v.AsY(), y)
	}
	x := XMM()
	a.extractHigh128(y, x)
	VADDPD(x, y.AsX(), x)
	t := XMM()
	VPERMILPD(U8(1), x, t)
	VADDSD(t, x, x)
	VCVTSD2SS(x, x, x)
	return x
}

// widen converts the float32 lanes of v to two vectors of float64 lanes.
func (a *arch) widen(v VecVirtual) (lo, hi VecVirtual) {
	lo, hi = a.vec(), a.vec()
	if a.isAVX512() {
		h := YMM()
		VEXTRACTF32X8(U8(1), v, h)
		VCVTPS2PD(v.AsY(), lo)
		VCVTPS2PD(h, hi)
		return lo, hi
	}
	h := XMM()
	a.extractHigh128(v, h)
	VCVTPS2PD(v.AsX(), lo)
	VCVTPS2PD(h, hi)
	return lo, hi
}

// widenMem loads the float32 vector at m as two vectors of float64 lanes.
func (a *arch) widenMem(m Mem) (lo, hi VecVirtual) {
	lo, hi = a.vec(), a.vec()
	VCVTPS2PD(m, lo)
	VCVTPS2PD(m.Offset(a.bytes()/2), hi)
	return lo, hi
}

// extractHigh128 copies the upper 128 bits of the YMM register y to x. The
// AVX-512 code uses the EVEX form, which can reach registers 16-31.
func (a *arch) extractHigh128(y, x Register) {
	if a.isAVX512() {
		VEXTRACTF32X4(U8(1), y, x)
		return
	}
	VEXTRACTF128(U8(1), y, x)
}

// relu returns max(0, x) in a new register: x itself, VMAXPS's second
// source, when x is NaN or -0.
func (a *arch) relu(x VecVirtual) VecVirtual {
	z := a.zero()
	VMAXPS(x, z, z)
	return z
}

// zero returns a zeroed vector register.
func (a *arch) zero() VecVirtual {
	v := a.vec()
	VXORPS(v, v, v)
	return v
}

// end finishes a function.
func end() {
	VZEROUPPER()
	RET()
}
