package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2dTransposedBitwise checks that the transposed lowering gives
// the bits of the direct one: on every geometry of convCases, on outputs of a few
// positions with filters spanning several strips, with each epilogue, on
// every ISA, with the default blocking and one that splits k and the rows.
func TestConv2dTransposedBitwise(t *testing.T) {
	cases := append(convCases(),
		ConvParams{N: 1, C: 40, H: 7, W: 7, K: 70, R: 1, S: 1},                                 // RN50's 7×7 stage, small
		ConvParams{N: 2, C: 24, H: 7, W: 7, K: 33, R: 3, S: 3, PadH: 1, PadW: 1},               // two images in one chunk
		ConvParams{N: 3, C: 8, H: 5, W: 4, K: 65, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1}, // strided, odd sizes
		ConvParams{N: 2, C: 12, H: 6, W: 6, K: 36, R: 3, S: 3, PadH: 1, PadW: 1, Groups: 3},
	)
	defer func(prev int) { convTransposedCols = prev }(convTransposedCols)
	forEachISA(t, func(t *testing.T) {
		for _, blk := range []Blocking{{}, {KC: 19, MC: 25}} {
			prev := SetSgemmBlocking(blk)
			for _, p := range cases {
				r := rand.New(rand.NewPCG(17, uint64(p.N*p.C*p.K)))
				q := p.norm()
				x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
				scale, shift := randSlice(r, q.K, -2, 2), randSlice(r, q.K, -1, 1)
				add := randSlice(r, q.yLen(), -1, 1)
				for _, ep := range []ConvEpilogue{{}, {Scale: scale, Shift: shift, Add: add, ReLU: true}} {
					name := fmt.Sprintf("%s/KC=%d/epilogue=%v", convName(p), blk.KC, ep.Scale != nil)
					want := make([]float32, q.yLen())
					convTransposedCols = 0
					withThreads(2, func() { Conv2dEpilogue(want, x, w, p, ep) })
					convTransposedCols = math.MaxInt
					got := guardedFrom(make([]float32, q.yLen()))
					withThreads(2, func() { Conv2dEpilogue(got.s(), x, w, p, ep) })
					got.check(t, name)
					for i := range want {
						if math.Float32bits(got.s()[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: y[%d] = %v transposed, %v direct", name, i, got.s()[i], want[i])
						}
					}
				}
			}
			SetSgemmBlocking(prev)
		}
	})
}

// TestConv2dPackedDefault checks Conv2dPacked on an RN50 7×7 layer, for
// which Conv2dEpilogue takes the transposed lowering, against the float64
// reference, and that it reads the packed filters.
func TestConv2dPackedDefault(t *testing.T) {
	p := ConvParams{N: 1, C: 64, H: 7, W: 7, K: 96, R: 3, S: 3, PadH: 1, PadW: 1}
	if c := newConvPlan("test", p); !c.transposed(c.fwdNB) {
		t.Fatalf("%s does not take the transposed lowering", convName(p))
	}
	r := rand.New(rand.NewPCG(3, 4))
	q := p.norm()
	x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
	want, scale, _, _, _, _ := convRefs(p, x, w, make([]float32, q.yLen()))
	got := make([]float32, q.yLen())
	Conv2dPacked(got, x, w, PackConv(w, p.K, p.C, p.R, p.S, 1), p, ConvEpilogue{})
	checkClose(t, "Conv2dPacked", got, want, scale, nil)

	// Conv2dPacked reads the packed filters, not w: packed from other
	// values, they give the convolution with those.
	w2 := randSlice(r, q.wLen(), -1, 1)
	want2 := make([]float32, q.yLen())
	Conv2d(want2, x, w2, p)
	Conv2dPacked(got, x, w, PackConv(w2, p.K, p.C, p.R, p.S, 1), p, ConvEpilogue{})
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want2[i]) {
			t.Fatalf("y[%d] = %v, want %v from the packed filters", i, got[i], want2[i])
		}
	}
}

func TestConv2dPackedPanics(t *testing.T) {
	p := ConvParams{N: 1, C: 4, H: 5, W: 5, K: 6, R: 3, S: 3, PadH: 1, PadW: 1}
	x, w, y := make([]float32, 100), make([]float32, 216), make([]float32, 150)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"bad filters", func() { PackConv(w, 6, 4, 0, 3, 1) }},
		{"groups", func() { PackConv(w, 6, 4, 3, 3, 4) }},
		{"short w", func() { PackConv(w[:215], 6, 4, 3, 3, 1) }},
		{"nil", func() { Conv2dPacked(y, x, w, nil, p, ConvEpilogue{}) }},
		{"other shape", func() { Conv2dPacked(y, x, w, PackConv(make([]float32, 216), 4, 6, 3, 3, 1), p, ConvEpilogue{}) }},
		{"short x", func() { Conv2dPacked(y, x[:99], w, PackConv(w, 6, 4, 3, 3, 1), p, ConvEpilogue{}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			c.f()
		})
	}
}

// FuzzConv2d checks the forward pass on fuzzed geometries against the
// float64 reference, and the transposed lowering (filters packed on the
// way and by PackConv) and the direct one against each other bit for bit.
func FuzzConv2d(f *testing.F) {
	f.Add(uint8(1), uint8(8), uint8(7), uint8(7), uint8(20), uint8(3), uint8(3), uint8(1), uint8(1), uint8(1), uint8(1), uint64(1))
	f.Add(uint8(2), uint8(3), uint8(9), uint8(5), uint8(4), uint8(1), uint8(3), uint8(2), uint8(1), uint8(0), uint8(2), uint64(2))
	f.Add(uint8(3), uint8(6), uint8(4), uint8(6), uint8(9), uint8(2), uint8(2), uint8(1), uint8(3), uint8(1), uint8(0), uint64(3))
	f.Fuzz(func(t *testing.T, n, c, h, w, k, r, s, stride, groups, padH, padW uint8, seed uint64) {
		p := ConvParams{N: 1 + int(n%4), C: 1 + int(c%12), H: 1 + int(h%16), W: 1 + int(w%16), K: 1 + int(k%40),
			R: 1 + int(r%5), S: 1 + int(s%5), StrideH: 1 + int(stride%3), StrideW: 1 + int(stride/3%3),
			PadH: int(padH % 3), PadW: int(padW % 3), Groups: 1 + int(groups%3)}
		if p.C%p.Groups != 0 || p.K%p.Groups != 0 {
			p.Groups = 1
		}
		if p.OutH() < 1 || p.OutW() < 1 {
			t.Skip("kernel larger than the padded input")
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		q := p.norm()
		x, wt := randSlice(rng, q.xLen(), -1, 1), randSlice(rng, q.wLen(), -1, 1)
		want, scale, _, _, _, _ := convRefs(p, x, wt, make([]float32, q.yLen()))
		defer func(prev int) { convTransposedCols = prev }(convTransposedCols)
		pw := PackConv(wt, q.K, q.C, q.R, q.S, q.Groups)
		var direct []float32
		for i, cols := range []int{0, math.MaxInt, math.MaxInt} {
			convTransposedCols = cols
			got := make([]float32, q.yLen())
			if i == 2 {
				Conv2dPacked(got, x, wt, pw, p, ConvEpilogue{})
			} else {
				Conv2d(got, x, wt, p)
			}
			checkClose(t, convName(p), got, want, scale, nil)
			if i == 0 {
				direct = got
				continue
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(direct[j]) {
					t.Fatalf("%s: y[%d] = %v transposed (packed=%v), %v direct", convName(p), j, got[j], i == 2, direct[j])
				}
			}
		}
	})
}
