// Command gemm generates the SGEMM micro-kernels and the FMA peak loops of
// package kernels.
//
// Every micro-kernel computes one mr×nr tile of C from a packed micro-panel of
// A (kc steps of mr floats, row index fastest) and kc rows of B (nr floats
// each, row stride ldb), in Go:
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			var acc float32
//			for p := 0; p < k; p++ {
//				acc += a[p*mr+i] * b[p*ldb+j]
//			}
//			acc *= alpha
//			if beta != 0 {
//				acc += beta * c[i*ldc+j]
//			}
//			c[i*ldc+j] = acc
//		}
//	}
//
// The kernels always read full NR-wide rows of B (the driver pads a partial
// strip with zeros); only the columns of C selected by the mask are read and
// written.
package main

//go:generate go run . -out ../../sgemm_amd64.s -stubs ../../sgemm_stubs_amd64.go -pkg kernels

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Register tiles. AVX-512: 12 rows × 32 columns = 24 zmm accumulators, two
// zmm of B per k and one broadcast register. AVX2: 6 rows × 16 columns = 12
// ymm accumulators, two ymm of B and one broadcast register. Each A value is
// broadcast once (VBROADCASTSS) and used by both of its row's FMAs: an
// embedded broadcast (VFMADD231PS.BCST m32) loads it once per FMA, 26 loads
// per 24 FMAs instead of 14, which measured 11 % slower on a Zen 5 core
// with full-width AVX-512 (equal on Zen 4).
const (
	mrAVX512 = 12
	nrAVX512 = 32
	mrAVX2   = 6
	nrAVX2   = 16
	unroll   = 4 // k steps per loop iteration
)

// The kernels also take pf and pfstride: each iteration of the k loop
// prefetches the two cache lines at pf and advances pf by pfstride bytes, so
// the driver can bring in the next strip of B while this one is in use.
const kernelSignature = "func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, %s, pf *float32, pfstride int)"

func main() {
	ConstraintExpr("amd64,!purego")
	for mr := 1; mr <= mrAVX512; mr++ {
		sgemmAVX512(mr)
	}
	for mr := 1; mr <= mrAVX2; mr++ {
		sgemmAVX2(mr)
	}
	packCopy32()
	packCopy16()
	packInterleave4()
	fmaPeak("fmaPeakAVX512", ZMM, 16)
	fmaPeak("fmaPeakAVX2", YMM, 8)
	Generate()
}

// addr returns the stack address of the named argument.
func addr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// kLoop emits the k loop: unroll steps per iteration, each iteration also
// prefetching two lines at pf, then the k%unroll remaining steps one at a
// time. step(u) emits k step u of an iteration,
// reading A at byte offset u*mr*4; aStep is the packed A bytes per k step.
func kLoop(k, a Register, aStep int, step func(u int)) {
	pf := Load(Param("pf"), GP64())
	pfstride := Load(Param("pfstride"), GP64())
	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(2), n)
	JZ(LabelRef("tail"))
	Label("loop")
	PREFETCHT0(Mem{Base: pf})
	PREFETCHT0(Mem{Base: pf, Disp: 64})
	ADDQ(pfstride, pf)
	for u := 0; u < unroll; u++ {
		step(u)
	}
	ADDQ(U32(unroll*aStep), a)
	DECQ(n)
	JNZ(LabelRef("loop"))

	Label("tail")
	ANDQ(U8(unroll-1), k)
	JZ(LabelRef("store"))
	Label("tailloop")
	step(0)
	ADDQ(U32(aStep), a)
	DECQ(k)
	JNZ(LabelRef("tailloop"))
	Label("store")
}

// sgemmAVX512 emits sgemm<mr>x32AVX512. Bit j of mask selects column j of C.
//
//	for p := 0; p < k; p++ {
//		b0, b1 := b[p*ldb:][0:16], b[p*ldb:][16:32]
//		for i := 0; i < mr; i++ {
//			t := broadcast(a[p*mr+i]) // VBROADCASTSS
//			acc[i][0] += t * b0
//			acc[i][1] += t * b1
//		}
//	}
func sgemmAVX512(mr int) {
	name := fmt.Sprintf("sgemm%dx%dAVX512", mr, nrAVX512)
	TEXT(name, NOSPLIT, fmt.Sprintf(kernelSignature, "mask uint32"))
	Doc(fmt.Sprintf("%s computes a %d×%d tile of C = alpha*A*B + beta*C (C not read when beta == 0)", name, mr, nrAVX512),
		fmt.Sprintf("from a packed %d-row micro-panel of A and k rows of 32 floats of B, row stride ldb.", mr),
		"Bit j of mask selects column j of C.")

	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	Comment("Fetch the C tile while the k loop runs.")
	cp := GP64()
	MOVQ(c, cp)
	for i := 0; i < mr; i++ {
		PREFETCHT0(Mem{Base: cp})
		PREFETCHT0(Mem{Base: cp, Disp: 64})
		if i < mr-1 {
			ADDQ(ldc, cp)
		}
	}

	acc := make([][2]VecVirtual, mr)
	for i := range acc {
		for h := range acc[i] {
			acc[i][h] = ZMM()
			VPXORD(acc[i][h], acc[i][h], acc[i][h])
		}
	}

	kLoop(k, a, mr*4, func(u int) {
		b0, b1 := ZMM(), ZMM()
		VMOVUPS(Mem{Base: b}, b0)
		VMOVUPS(Mem{Base: b, Disp: 64}, b1)
		ADDQ(ldb, b)
		for i := 0; i < mr; i++ {
			ai := Mem{Base: a, Disp: (u*mr + i) * 4}
			t := ZMM()
			VBROADCASTSS(ai, t)
			VFMADD231PS(t, b0, acc[i][0])
			VFMADD231PS(t, b1, acc[i][1])
		}
	})

	Comment("C = alpha*acc + beta*C on the columns selected by mask.")
	mask := Load(Param("mask"), GP32())
	kmask := [2]Register{K(), K()}
	KMOVW(mask, kmask[0])
	SHRL(U8(16), mask)
	KMOVW(mask, kmask[1])
	alpha := ZMM()
	VBROADCASTSS(addr("alpha"), alpha)
	for i := range acc {
		for h := range acc[i] {
			VMULPS(alpha, acc[i][h], acc[i][h])
		}
	}
	storeTail := func(beta VecVirtual) {
		for i := 0; i < mr; i++ {
			for h := 0; h < 2; h++ {
				ch := Mem{Base: c, Disp: 64 * h}
				if beta != nil {
					// Masked-off lanes of the memory operand are not read.
					VFMADD231PS(ch, beta, kmask[h], acc[i][h])
				}
				VMOVUPS(acc[i][h], kmask[h], ch)
			}
			if i < mr-1 {
				ADDQ(ldc, c)
			}
		}
		VZEROUPPER()
		RET()
	}
	betaBits := GP32()
	MOVL(addr("beta"), betaBits)
	ADDL(betaBits, betaBits) // drop the sign: zero for +0 and -0
	JNZ(LabelRef("beta"))
	storeTail(nil)
	Label("beta")
	beta := ZMM()
	VBROADCASTSS(addr("beta"), beta)
	storeTail(beta)
}

// sgemmAVX2 emits sgemm<mr>x16AVX2. A nil mask stores all 16 columns;
// otherwise mask points at 16 int32 lanes whose sign bits select the columns.
//
//	for p := 0; p < k; p++ {
//		b0, b1 := b[p*ldb:][0:8], b[p*ldb:][8:16]
//		for i := 0; i < mr; i++ {
//			t := broadcast(a[p*mr+i]) // VBROADCASTSS
//			acc[i][0] += t * b0
//			acc[i][1] += t * b1
//		}
//	}
func sgemmAVX2(mr int) {
	name := fmt.Sprintf("sgemm%dx%dAVX2", mr, nrAVX2)
	TEXT(name, NOSPLIT, fmt.Sprintf(kernelSignature, "mask *int32"))
	Doc(fmt.Sprintf("%s computes a %d×%d tile of C = alpha*A*B + beta*C (C not read when beta == 0)", name, mr, nrAVX2),
		fmt.Sprintf("from a packed %d-row micro-panel of A and k rows of 16 floats of B, row stride ldb.", mr),
		"A nil mask stores all 16 columns; otherwise the sign bits of mask[0:16] select them.")

	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	Comment("Fetch the C tile while the k loop runs.")
	cp := GP64()
	MOVQ(c, cp)
	for i := 0; i < mr; i++ {
		PREFETCHT0(Mem{Base: cp})
		if i < mr-1 {
			ADDQ(ldc, cp)
		}
	}

	acc := make([][2]VecVirtual, mr)
	for i := range acc {
		for h := range acc[i] {
			acc[i][h] = YMM()
			VXORPS(acc[i][h], acc[i][h], acc[i][h])
		}
	}

	kLoop(k, a, mr*4, func(u int) {
		b0, b1 := YMM(), YMM()
		VMOVUPS(Mem{Base: b}, b0)
		VMOVUPS(Mem{Base: b, Disp: 32}, b1)
		ADDQ(ldb, b)
		for i := 0; i < mr; i++ {
			t := YMM()
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + i) * 4}, t)
			VFMADD231PS(b0, t, acc[i][0])
			VFMADD231PS(b1, t, acc[i][1])
		}
	})

	Comment("C = alpha*acc + beta*C.")
	alpha := YMM()
	VBROADCASTSS(addr("alpha"), alpha)
	for i := range acc {
		for h := range acc[i] {
			VMULPS(alpha, acc[i][h], acc[i][h])
		}
	}
	maskp := Load(Param("mask"), GP64())
	betaBits := GP32()
	MOVL(addr("beta"), betaBits)
	ADDL(betaBits, betaBits) // drop the sign: zero for +0 and -0
	JNZ(LabelRef("beta"))
	TESTQ(maskp, maskp)
	JNZ(LabelRef("masked"))
	storeAVX2(mr, acc, c, ldc, nil, nil)
	Label("masked")
	storeAVX2(mr, acc, c, ldc, nil, maskp)

	Label("beta")
	beta := YMM()
	VBROADCASTSS(addr("beta"), beta)
	TESTQ(maskp, maskp)
	JNZ(LabelRef("betamasked"))
	storeAVX2(mr, acc, c, ldc, beta, nil)
	Label("betamasked")
	storeAVX2(mr, acc, c, ldc, beta, maskp)
}

// storeAVX2 emits the store of acc (already scaled by alpha) to the C tile,
// adding beta*C when beta is not nil and masking the columns when maskp is not nil.
func storeAVX2(mr int, acc [][2]VecVirtual, c, ldc Register, beta VecVirtual, maskp Register) {
	var m [2]VecVirtual
	if maskp != nil {
		m = [2]VecVirtual{YMM(), YMM()}
		VMOVUPS(Mem{Base: maskp}, m[0])
		VMOVUPS(Mem{Base: maskp, Disp: 32}, m[1])
	}
	for i := 0; i < mr; i++ {
		for h := 0; h < 2; h++ {
			ch := Mem{Base: c, Disp: 32 * h}
			switch {
			case maskp == nil && beta != nil:
				VFMADD231PS(ch, beta, acc[i][h])
			case maskp != nil && beta != nil:
				t := YMM()
				VMASKMOVPS(ch, m[h], t)
				VFMADD231PS(t, beta, acc[i][h])
			}
			if maskp == nil {
				VMOVUPS(acc[i][h], ch)
			} else {
				VMASKMOVPS(acc[i][h], m[h], ch)
			}
		}
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// fmaPeak emits a loop of 12 independent FMA chains, enough to fill two FMA
// pipes of latency 4 or more, run n times: 24*lanes FLOP per iteration.
func fmaPeak(name string, vec func() VecVirtual, lanes int) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of 12 independent %d-lane FMAs (%d FLOP each).", name, lanes, 24*lanes))
	n := Load(Param("n"), GP64())
	x, y := vec(), vec()
	VXORPS(x, x, x)
	VXORPS(y, y, y)
	acc := make([]VecVirtual, 12)
	for i := range acc {
		acc[i] = vec()
		VXORPS(acc[i], acc[i], acc[i])
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	for i := range acc {
		VFMADD231PS(x, y, acc[i])
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packCopy32 emits packCopy32AVX, the packer of a non-transposed B strip
// (ldd = 32) and of the rows of a convolution's strip that one kernel tap
// reads from consecutive channels (ldd = 32 times the taps).
//
//	for p := 0; p < rows; p++ {
//		copy(dst[p*ldd:p*ldd+32], src[p*lds:p*lds+32])
//	}
func packCopy32() {
	TEXT("packCopy32AVX", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds, rows int)")
	Doc("packCopy32AVX copies rows rows of 32 floats, row stride lds, to dst with row stride ldd.")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	rows := Load(Param("rows"), GP64())
	ahead := GP64()
	// Prefetch eight rows ahead: the rows are far apart, which the
	// hardware prefetchers follow poorly.
	MOVQ(lds, ahead)
	SHLQ(U8(3), ahead)
	ADDQ(src, ahead)
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	Label("loop")
	PREFETCHT0(Mem{Base: ahead})
	PREFETCHT0(Mem{Base: ahead, Disp: 64})
	PREFETCHT0(Mem{Base: ahead, Disp: 124})
	v := [4]VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for i := range v {
		VMOVUPS(Mem{Base: src, Disp: 32 * i}, v[i])
	}
	for i := range v {
		VMOVUPS(v[i], Mem{Base: dst, Disp: 32 * i})
	}
	ADDQ(lds, src)
	ADDQ(lds, ahead)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packCopy16 emits packCopy16AVX, the packer of a transposed A panel of at
// most 16 rows. It writes 16 floats per row whatever w, so dst needs 16-w
// floats of slack after the last row.
//
//	for p := 0; p < rows; p++ {
//		copy(dst[p*ldd:p*ldd+w], src[p*lds:p*lds+w]) // w = lanes selected by mask
//	}
func packCopy16() {
	TEXT("packCopy16AVX", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds, rows int, mask *int32)")
	Doc("packCopy16AVX copies rows rows of the w ≤ 16 floats selected by the sign bits of mask[0:16]",
		"from src (row stride lds) to dst (row stride ldd), writing 16 floats per row.")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	rows := Load(Param("rows"), GP64())
	maskp := Load(Param("mask"), GP64())
	m0, m1 := YMM(), YMM()
	VMOVUPS(Mem{Base: maskp}, m0)
	VMOVUPS(Mem{Base: maskp, Disp: 32}, m1)
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	Label("loop")
	v0, v1 := YMM(), YMM()
	VMASKMOVPS(Mem{Base: src}, m0, v0)
	VMASKMOVPS(Mem{Base: src, Disp: 32}, m1, v1)
	VMOVUPS(v0, Mem{Base: dst})
	VMOVUPS(v1, Mem{Base: dst, Disp: 32})
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// packInterleave4 emits packInterleave4AVX, which interleaves four rows:
// the packer of four rows of a non-transposed A panel or four columns of a
// transposed B strip. It transposes 4×8 blocks in registers.
//
//	for p := 0; p < n; p++ { // n a multiple of 8
//		for i := 0; i < 4; i++ {
//			dst[p*ldd+i] = src[i*lds+p]
//		}
//	}
func packInterleave4() {
	TEXT("packInterleave4AVX", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds, n int)")
	Doc("packInterleave4AVX sets dst[p*ldd+i] = src[i*lds+p] for i < 4 and p < n, n a multiple of 8.")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	n := Load(Param("n"), GP64())
	SHRQ(U8(3), n)
	JZ(LabelRef("done"))
	lds3 := GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	ldd3 := GP64()
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	dst4 := GP64()
	Label("loop")
	r := [4]VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VMOVUPS(Mem{Base: src}, r[0])
	VMOVUPS(Mem{Base: src, Index: lds, Scale: 1}, r[1])
	VMOVUPS(Mem{Base: src, Index: lds, Scale: 2}, r[2])
	VMOVUPS(Mem{Base: src, Index: lds3, Scale: 1}, r[3])
	Comment("t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], and so on.")
	t := [4]VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VUNPCKLPS(r[1], r[0], t[0])
	VUNPCKHPS(r[1], r[0], t[1])
	VUNPCKLPS(r[3], r[2], t[2])
	VUNPCKHPS(r[3], r[2], t[3])
	Comment("u[p] = column p (low lane) and p+4 (high lane) of the four rows.")
	u := [4]VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VSHUFPS(U8(0x44), t[2], t[0], u[0])
	VSHUFPS(U8(0xEE), t[2], t[0], u[1])
	VSHUFPS(U8(0x44), t[3], t[1], u[2])
	VSHUFPS(U8(0xEE), t[3], t[1], u[3])
	LEAQ(Mem{Base: dst, Index: ldd, Scale: 4}, dst4)
	VMOVUPS(u[0].AsX(), Mem{Base: dst})
	VMOVUPS(u[1].AsX(), Mem{Base: dst, Index: ldd, Scale: 1})
	VMOVUPS(u[2].AsX(), Mem{Base: dst, Index: ldd, Scale: 2})
	VMOVUPS(u[3].AsX(), Mem{Base: dst, Index: ldd3, Scale: 1})
	VEXTRACTF128(U8(1), u[0], Mem{Base: dst4})
	VEXTRACTF128(U8(1), u[1], Mem{Base: dst4, Index: ldd, Scale: 1})
	VEXTRACTF128(U8(1), u[2], Mem{Base: dst4, Index: ldd, Scale: 2})
	VEXTRACTF128(U8(1), u[3], Mem{Base: dst4, Index: ldd3, Scale: 1})
	ADDQ(U8(32), src)
	LEAQ(Mem{Base: dst4, Index: ldd, Scale: 4}, dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
