package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// packedConvCases are the geometries of the pre-packed filters' tests:
// those of convCases and a few that reach the driver's splits of the rows
// (one image of many filters, on two threads).
func packedConvCases() []ConvParams {
	return append(convCases(),
		ConvParams{N: 1, C: 32, H: 14, W: 14, K: 200, R: 1, S: 1},                           // x in place, rows split
		ConvParams{N: 1, C: 16, H: 12, W: 12, K: 100, R: 3, S: 3, PadH: 1, PadW: 1},         // strips from x, rows split
		ConvParams{N: 3, C: 40, H: 7, W: 7, K: 70, R: 1, S: 1},                              // images sharing a GEMM
		ConvParams{N: 2, C: 12, H: 9, W: 9, K: 36, R: 3, S: 3, PadH: 1, PadW: 1, Groups: 3}, // a packing per group
	)
}

// TestConv2dPackedFilters checks that Conv2dPacked, with the filters packed
// by PackConv or in place by PackConvInPlace, gives the bits of
// Conv2dEpilogue: with the filters packed under every ISA and run under
// every ISA (a packing for another kernel is unpacked on the way), with the
// default blocking, one that splits k and the rows and one that splits
// only the rows, on one, two and three threads with the static and the
// queued splits. The w it is passed holds other values, so that reading w
// instead of the packed filters would show.
func TestConv2dPackedFilters(t *testing.T) {
	cases := packedConvCases()
	if testing.Short() {
		cases = cases[len(cases)-4:]
	}
	for _, p := range cases {
		r := rand.New(rand.NewPCG(21, uint64(p.N*p.C*p.K)))
		q := p.norm()
		x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
		scale, shift := randSlice(r, q.K, -2, 2), randSlice(r, q.K, -1, 1)
		ep := ConvEpilogue{Scale: scale, Shift: shift, Add: randSlice(r, q.yLen(), -1, 1), ReLU: true}
		// {MC: 25} keeps the KC the filters were packed for, so that the
		// driver reads them packed with shares of rows taller than MC.
		blockings := []Blocking{{}, {KC: 19, MC: 25}, {MC: 25}}
		wants := make([][]float32, len(blockings)) // KC decides the bits
		for i, blk := range blockings {
			prev := SetSgemmBlocking(blk)
			wants[i] = make([]float32, q.yLen())
			Conv2dEpilogue(wants[i], x, w, p, ep)
			SetSgemmBlocking(prev)
		}
		for _, packISA := range Supported() {
			prev, err := Use(packISA)
			if err != nil {
				t.Fatal(err)
			}
			copied := PackConv(w, q.K, q.C, q.R, q.S, q.Groups)
			inPlace := slices.Clone(w)
			pw := PackConvInPlace(inPlace, q.K, q.C, q.R, q.S, q.Groups)
			Use(prev)
			other := randSlice(r, q.wLen(), -1, 1)
			t.Run(convName(p)+"/packed-"+packISA.String(), func(t *testing.T) {
				forEachISA(t, func(t *testing.T) {
					for i, blk := range blockings {
						prevBlk := SetSgemmBlocking(blk)
						for _, threads := range []int{1, 2, 3} {
							eachSplit(t, func(t *testing.T) {
								for _, tc := range []struct {
									name string
									w    []float32
									pw   *PackedConv
								}{{"PackConv", other, copied}, {"PackConvInPlace", inPlace, pw}} {
									got := guardedFrom(make([]float32, q.yLen()))
									withThreads(threads, func() { Conv2dPacked(got.s(), x, tc.w, tc.pw, p, ep) })
									name := fmt.Sprintf("%s/KC=%d/threads=%d", tc.name, blk.KC, threads)
									got.check(t, name)
									if !sameBits(got.s(), wants[i]) {
										t.Fatalf("%s: the output differs from Conv2dEpilogue's", name)
									}
								}
							})
						}
						SetSgemmBlocking(prevBlk)
					}
				})
			})
			pw.UnpackInPlace()
			if !sameBits(inPlace, w) {
				t.Fatalf("%s/packed-%v: UnpackInPlace does not restore the filters", convName(p), packISA)
			}
		}
	}
}

// TestPackedA checks the layout of the pre-packed left operand against the
// driver's own packing, block by block, and that unpacking it, from a copy
// or in place, restores the matrix bit for bit.
func TestPackedA(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	forEachISA(t, func(t *testing.T) {
		for _, blk := range []Blocking{{}, {KC: 19, MC: 25}} {
			prev := SetSgemmBlocking(blk)
			for _, s := range [][2]int{{1, 1}, {13, 7}, {50, 300}, {64, 576}, {0, 5}, {7, 0}} {
				m, k := s[0], s[1]
				name := fmt.Sprintf("m%d/k%d/KC=%d", m, k, blk.KC)
				a := randSlice(r, m*k, -1, 1)
				pa := packA(m, k, a, max(k, 1))
				kern := kernelFor(current)
				j := sgemmJob{kern: kern, blk: blockingFor(kern), m: m, k: k, a: a, lda: max(k, 1)}
				var buf sgemmBuf
				starts := j.panelStarts(&buf, 0, m)
				if !slices.Equal(starts, pa.starts) {
					t.Fatalf("%s: panels %v, the driver's %v", name, pa.starts, starts)
				}
				for pc := 0; pc < k; pc += j.blk.KC {
					kc := min(j.blk.KC, k-pc)
					want := j.packBlock(&buf.a, packAsm(current), starts, pc, kc)
					if got := pa.block(0, m, pc); !sameBits(got, want[:m*kc]) {
						t.Fatalf("%s: block at k=%d differs from the driver's packing", name, pc)
					}
				}
				if !sameBits(pa.unpacked(), a) {
					t.Fatalf("%s: unpacked differs from the matrix", name)
				}
				in := slices.Clone(a)
				ip := packAInPlace(in, m, k)
				if !sameBits(in, pa.data) {
					t.Fatalf("%s: packAInPlace differs from packA", name)
				}
				ip.unpackInPlace()
				if !sameBits(in, a) {
					t.Fatalf("%s: unpackInPlace does not restore the matrix", name)
				}
			}
			SetSgemmBlocking(prev)
		}
	})
}

// TestPackConvInPlacePanics checks the arguments PackConvInPlace refuses
// and that a copy cannot be unpacked in place.
func TestPackConvInPlacePanics(t *testing.T) {
	w := make([]float32, 216)
	for _, c := range []struct {
		name, want string
		f          func()
	}{
		{"bad filters", "PackConvInPlace: bad filters", func() { PackConvInPlace(w, 6, 4, 0, 3, 1) }},
		{"groups", "PackConvInPlace: bad filters", func() { PackConvInPlace(w, 6, 4, 3, 3, 4) }},
		{"short w", "len(w)=215, want 216", func() { PackConvInPlace(w[:215], 6, 4, 3, 3, 1) }},
		{"copy", "not packed in place", func() { PackConv(w, 6, 4, 3, 3, 1).UnpackInPlace() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Fatalf("panic %v, want one containing %q", r, c.want)
				}
			}()
			c.f()
		})
	}
}
