package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// The constants the kernels read from memory. Each is stored as 16 copies
// (64 bytes), so a YMM or ZMM operand can read it directly.
const (
	cOne = iota
	cHalf
	cNegHalf
	cNegInf
	cAbsMask
	cLog2E
	cLn2Hi
	cLn2Lo
	cExpLo
	cExpHi
	cExpBias
	cQuickGELU    // 1.702
	cNegQuickGELU // -1.702
	cSqrtHalf     // 1/√2
	cInvSqrt2Pi   // 1/√(2π)
	cErfcP
	cGELUClamp
	cExpPoly                             // expDegree+1 coefficients, constant term first
	cErfcPoly = cExpPoly + expDegree + 1 // erfcDegree+1 coefficients, constant term first
	numConsts = cErfcPoly + erfcDegree + 1
)

// Cody-Waite split of ln 2: ln2Hi has 16 significant bits, so n*ln2Hi is
// exact for |n| < 2^8 and x - n*ln2Hi loses nothing.
const (
	ln2Hi = 0.693145751953125
	ln2Lo = math.Ln2 - ln2Hi
)

var (
	consts     Mem // numConsts entries of 64 bytes
	tailMask8  Mem // 8×0xffffffff then 8×0: AVX2 lane masks
	tailMask16 Mem // 16-bit opmasks 1<<i - 1 for i = 0..15
)

// cst returns the memory operand of constant c.
func cst(c int) Mem { return consts.Offset(64 * c) }

// defineConsts emits the constant tables.
func defineConsts() {
	v := make([]float32, numConsts)
	bits := map[int]uint32{
		cNegInf:    0xff800000,
		cAbsMask:   0x7fffffff,
		cExpBias:   127,
		cGELUClamp: math.Float32bits(20),
	}
	v[cOne] = 1
	v[cHalf] = 0.5
	v[cNegHalf] = -0.5
	v[cLog2E] = math.Log2E
	v[cLn2Hi] = ln2Hi
	v[cLn2Lo] = float32(ln2Lo)
	v[cExpLo] = expLo
	v[cExpHi] = expHi
	v[cQuickGELU] = 1.702
	v[cNegQuickGELU] = -1.702
	v[cSqrtHalf] = math.Sqrt2 / 2
	v[cInvSqrt2Pi] = float32(1 / math.Sqrt(2*math.Pi))
	v[cErfcP] = erfcP
	for i, c := range expCoefficients() {
		v[cExpPoly+i] = float32(c)
	}
	for i, c := range erfcCoefficients() {
		v[cErfcPoly+i] = float32(c)
	}

	consts = GLOBL("eltconst", RODATA|NOPTR)
	for c := 0; c < numConsts; c++ {
		b, ok := bits[c]
		if !ok {
			b = math.Float32bits(v[c])
		}
		for l := 0; l < 16; l++ {
			DATA(64*c+4*l, U32(b))
		}
	}

	tailMask8 = GLOBL("tailmask8", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		m := uint32(0)
		if l < 8 {
			m = 0xffffffff
		}
		DATA(4*l, U32(m))
	}

	tailMask16 = GLOBL("tailmask16", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(1<<i-1))
	}
}
