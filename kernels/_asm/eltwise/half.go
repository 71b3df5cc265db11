package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// unrollHalf is the number of vectors converted per iteration of the main
// loop of halfToFloat32.
const unrollHalf = 4

// genHalf emits halfToFloat32, the conversion of little-endian IEEE
// binary16 values to float32 with VCVTPH2PS (F16C: 8 halves from an XMM to a YMM; AVX-512: 16
// from a YMM to a ZMM). The conversion is exact. It covers whole vectors
// only: the Go caller converts the last len(dst)%lanes elements.
func genHalf(a *arch) {
	a.fn("halfToFloat32", "(dst []float32, src []byte)",
		fmt.Sprintf("for i := range len(dst) / %d * %d {", a.lanes, a.lanes),
		"\tdst[i] = HalfBitsToFloat32(binary.LittleEndian.Uint16(src[2*i:]))",
		"}")
	dst, src, n := ptr("dst"), ptr("src"), length("dst")
	i := GP64()
	XORQ(i, i)
	convert := func(j int) {
		v := a.vec()
		VCVTPH2PS(Mem{Base: src, Index: i, Scale: 2, Disp: 2 * j * a.lanes}, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * j * a.lanes})
	}
	end := GP64()
	Label("loop")
	MOVQ(i, end)
	ADDQ(U32(unrollHalf*a.lanes), end)
	CMPQ(end, n)
	JA(LabelRef("single"))
	for j := range unrollHalf {
		convert(j)
	}
	MOVQ(end, i)
	JMP(LabelRef("loop"))
	Label("single")
	MOVQ(i, end)
	ADDQ(U32(a.lanes), end)
	CMPQ(end, n)
	JA(LabelRef("done"))
	convert(0)
	MOVQ(end, i)
	JMP(LabelRef("single"))
	Label("done")
	VZEROUPPER()
	RET()
}
