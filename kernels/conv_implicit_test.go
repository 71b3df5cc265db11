package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2dImplicitBitwise checks that packing the GEMM's strips straight
// from x gives the bits of the explicit column matrix: on every geometry of
// convCases and on strips that span rows, images and both kinds of padding.
func TestConv2dImplicitBitwise(t *testing.T) {
	cases := append(convCases(),
		ConvParams{N: 3, C: 5, H: 40, W: 40, K: 7, R: 3, S: 3, PadH: 1, PadW: 1}, // full strips over two rows
		ConvParams{N: 4, C: 3, H: 9, W: 9, K: 4, R: 5, S: 5, PadH: 2, PadW: 2},   // strips over two images
		ConvParams{N: 9, C: 8, H: 14, W: 14, K: 5, R: 1, S: 1},                   // pointwise, batched
		ConvParams{N: 40, C: 2, H: 1, W: 1, K: 3, R: 1, S: 1},                    // a strip of 32 images
		ConvParams{N: 5, C: 3, H: 3, W: 2, K: 2, R: 3, S: 3, PadH: 1, PadW: 1},   // images of 6 pixels
		ConvParams{N: 2, C: 2, H: 6, W: 40, K: 3, R: 3, S: 15, PadH: 1, PadW: 7}, // the widest kernel packed from x
		ConvParams{N: 2, C: 2, H: 6, W: 40, K: 3, R: 1, S: 17, PadW: 8},          // one wider: explicit
		ConvParams{N: 2, C: 6, H: 12, W: 12, K: 6, R: 3, S: 3, PadH: 3, PadW: 1, DilationH: 3, Groups: 3},
	)
	// And random geometries with "same" widths, the implicit path's domain.
	gr := rand.New(rand.NewPCG(13, 14))
	for len(cases) < 120 {
		p := ConvParams{N: 1 + gr.IntN(5), C: 1 + gr.IntN(4), H: 1 + gr.IntN(9), W: 1 + gr.IntN(40),
			K: 1 + gr.IntN(5), R: 1 + gr.IntN(5), S: 1 + gr.IntN(9), PadH: gr.IntN(4),
			DilationH: 1 + gr.IntN(3), DilationW: 1 + gr.IntN(2), Groups: 1 + gr.IntN(2)}
		if (p.DilationW*(p.S-1))%2 != 0 || p.C%p.Groups != 0 || p.K%p.Groups != 0 {
			continue
		}
		p.PadW = p.DilationW * (p.S - 1) / 2 // keeps the width
		if p.OutH() < 1 {
			continue
		}
		cases = append(cases, p)
	}
	// Small outputs take the transposed lowering, which builds the column
	// matrix; keep every case on the direct one.
	defer func(prev int) { convTransposedCols = prev }(convTransposedCols)
	convTransposedCols = 0
	forEachISA(t, func(t *testing.T) {
		fromX := 0
		for _, p := range cases {
			r := rand.New(rand.NewPCG(6, uint64(p.N*p.C*p.W)))
			q := p.norm()
			x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
			ep := ConvEpilogue{Scale: randSlice(r, q.K, -1, 1), Shift: randSlice(r, q.K, -1, 1), Add: randSlice(r, q.yLen(), -1, 1), ReLU: true}
			c := newConvPlan("test", p)
			if c.packsFromX() {
				fromX++
			}
			got, want := make([]float32, q.yLen()), make([]float32, q.yLen())
			Conv2dEpilogue(got, x, w, p, ep)
			implicitIm2col = false
			Conv2dEpilogue(want, x, w, p, ep)
			implicitIm2col = true
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: y[%d] = %v packed from x, %v from the column matrix", convName(p), i, got[i], want[i])
				}
			}
		}
		if fromX < len(cases)/2 {
			t.Fatalf("only %d of %d cases packed from x", fromX, len(cases))
		}
	})
}

func TestCopyClipped(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5}
	for _, tc := range []struct {
		lo   int
		want []float32
	}{
		{-2, []float32{0, 0, 1, 2}},
		{0, []float32{1, 2, 3, 4}},
		{3, []float32{4, 5, 0, 0}},
		{5, []float32{0, 0, 0, 0}},
		{-9, []float32{0, 0, 0, 0}},
	} {
		d := []float32{9, 9, 9, 9}
		copyClipped(d, src, tc.lo)
		for i := range d {
			if d[i] != tc.want[i] {
				t.Errorf("lo=%d: got %v, want %v", tc.lo, d, tc.want)
				break
			}
		}
	}
}

// TestCol2imBitwise checks col2im against a plain loop that adds each tap's
// gradient pixel by pixel, in the same tap order: every element of dx gets
// the same sums, so the bits agree.
func TestCol2imBitwise(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, p := range convCases() {
			c := newConvPlan("test", p)
			nb := min(c.N, c.nb)
			if nb == 0 {
				continue
			}
			r := rand.New(rand.NewPCG(9, uint64(p.C*p.H*p.W)))
			cols := nb * c.l
			dcol := randSlice(r, c.crs*cols, -1, 1)
			got := randSlice(r, c.xLen(), -1, 1)
			want := append([]float32(nil), got...)
			for g := 0; g < c.Groups; g++ {
				c.col2im(got, dcol, 0, nb, g)
			}
			hw, rs := c.H*c.W, c.R*c.S
			for g := 0; g < c.Groups; g++ {
				for ch := 0; ch < c.cg; ch++ {
					for i := 0; i < nb; i++ {
						plane := want[(i*c.C+g*c.cg+ch)*hw:][:hw]
						for tap := 0; tap < rs; tap++ {
							src := dcol[(ch*rs+tap)*cols+i*c.l:][:c.l]
							for oh := 0; oh < c.oh; oh++ {
								ih := oh*c.StrideH - c.PadH + tap/c.S*c.DilationH
								for ow := 0; ow < c.ow; ow++ {
									iw := ow*c.StrideW - c.PadW + tap%c.S*c.DilationW
									if ih >= 0 && ih < c.H && iw >= 0 && iw < c.W {
										plane[ih*c.W+iw] += src[oh*c.ow+ow]
									}
								}
							}
						}
					}
				}
			}
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s: dx[%d] = %v, want %v", convName(p), j, got[j], want[j])
				}
			}
		}
	})
}
