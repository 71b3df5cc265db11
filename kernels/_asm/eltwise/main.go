// Command eltwise generates the AVX2 and AVX-512 elementwise kernels of
// package kernels: streaming arithmetic, float64-lane sums, exp, QuickGELU,
// GELU, the row pieces of softmax and layer norm, the momentum SGD update
// and the conversion of half precision to float32; and eltwise_consts.go,
// the constants of exp and GELU for the generic code.
//
// Every kernel is written once against arch; the doc comment of each
// generated function is the Go loop it computes.
package main

//go:generate go run . -out ../../eltwise_amd64.s -stubs ../../eltwise_stubs_amd64.go -pkg kernels

import (
	"log"

	. "github.com/mmcloughlin/avo/build"
)

func main() {
	ConstraintExpr("amd64,!purego")
	defineConsts()
	if err := writeGoConsts(goConstsFile); err != nil {
		log.Fatal(err)
	}
	for _, a := range []*arch{avx2, avx512} {
		genArith(a)
		genSGD(a)
		genBatchNorm(a)
		genReductions(a)
		genActivations(a)
		genRows(a)
		genHalf(a)
	}
	Generate()
}
