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
// zmm of B per k and the A values as embedded broadcasts. AVX2: 6 rows × 16
// columns = 12 ymm accumulators, two ymm of B and one broadcast register.
const (
	mrAVX512 = 12
	nrAVX512 = 32
	mrAVX2   = 6
	nrAVX2   = 16
	unroll   = 4 // k steps per loop iteration
)

const kernelSignature = "func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, %s)"

func main() {
	ConstraintExpr("amd64,!purego")
	for mr := 1; mr <= mrAVX512; mr++ {
		sgemmAVX512(mr)
	}
	for mr := 1; mr <= mrAVX2; mr++ {
		sgemmAVX2(mr)
	}
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

// kLoop emits the k loop: unroll steps per iteration, then the k%unroll
// remaining steps one at a time. step(u) emits k step u of an iteration,
// reading A at byte offset u*mr*4; aStep is the packed A bytes per k step.
func kLoop(k, a Register, aStep int, step func(u int)) {
	n := GP64()
	MOVQ(k, n)
	SHRQ(U8(2), n)
	JZ(LabelRef("tail"))
	Label("loop")
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
//			acc[i][0] += a[p*mr+i] * b0 // VFMADD231PS.BCST
//			acc[i][1] += a[p*mr+i] * b1
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
			VFMADD231PS_BCST(ai, b0, acc[i][0])
			VFMADD231PS_BCST(ai, b1, acc[i][1])
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
