package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPack compares the packers, Go and assembly, with the definitions of
// the packed layouts on every panel height and strip width.
func TestPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const ld = 45 // row stride of the source, larger than any extent below
	src := make([]float32, 60*ld)
	for i := range src {
		src[i] = rng.Float32()
	}
	for _, isa := range Supported() {
		fast := packAsm(isa)
		for _, kc := range []int{1, 7, 8, 9, 33} {
			for h := 1; h <= 16; h++ {
				for _, transA := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v/A/trans=%v/h%d/kc%d", isa, transA, h, kc), func(t *testing.T) {
						const r, pc = 3, 2
						dst := make([]float32, kc*h+16)
						packPanelA(dst, fast, transA, src, ld, r, h, pc, kc)
						for p := 0; p < kc; p++ {
							for i := 0; i < h; i++ {
								want := src[(r+i)*ld+pc+p]
								if transA {
									want = src[(pc+p)*ld+r+i]
								}
								if got := dst[p*h+i]; got != want {
									t.Fatalf("dst[%d*%d+%d]: got %v, want %v", p, h, i, got, want)
								}
							}
						}
					})
				}
			}
			for _, w := range []int{1, 3, 4, 5, 16, 31, 32} {
				for _, transB := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v/B/trans=%v/w%d/kc%d", isa, transB, w, kc), func(t *testing.T) {
						const c0, pc = 5, 1
						dst := make([]float32, kc*stripWidth)
						for i := range dst {
							dst[i] = -1 // must become zero padding
						}
						packStripB(dst, fast, transB, src, ld, pc, kc, c0, w)
						for p := 0; p < kc; p++ {
							for j := 0; j < stripWidth; j++ {
								var want float32
								if j < w {
									want = src[(pc+p)*ld+c0+j]
									if transB {
										want = src[(c0+j)*ld+pc+p]
									}
								}
								if got := dst[p*stripWidth+j]; got != want {
									t.Fatalf("dst[%d*32+%d]: got %v, want %v", p, j, got, want)
								}
							}
						}
					})
				}
			}
		}
	}
}
