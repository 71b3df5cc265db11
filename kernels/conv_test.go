package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// convTaps calls f for every (output, input, weight) index triple of the
// convolution p, the seven loops of its definition.
func convTaps(p ConvParams, f func(yi, xi, wi int)) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	cg, kg := p.C/p.Groups, p.K/p.Groups
	for n := 0; n < p.N; n++ {
		for k := 0; k < p.K; k++ {
			g := k / kg
			for y := 0; y < oh; y++ {
				for z := 0; z < ow; z++ {
					yi := ((n*p.K+k)*oh+y)*ow + z
					for c := 0; c < cg; c++ {
						for r := 0; r < p.R; r++ {
							ih := y*p.StrideH - p.PadH + r*p.DilationH
							if ih < 0 || ih >= p.H {
								continue
							}
							for s := 0; s < p.S; s++ {
								iw := z*p.StrideW - p.PadW + s*p.DilationW
								if iw < 0 || iw >= p.W {
									continue
								}
								xi := ((n*p.C+g*cg+c)*p.H+ih)*p.W + iw
								wi := ((k*cg+c)*p.R+r)*p.S + s
								f(yi, xi, wi)
							}
						}
					}
				}
			}
		}
	}
}

// convRefs returns y = conv(x, w), dx = convᵀ(dy) and dw in float64, with
// the sums of the absolute values of the terms of each as error scales.
func convRefs(p ConvParams, x, w, dy []float32) (y, ya, dx, dxa, dw, dwa []float64) {
	p = p.norm()
	y, ya = make([]float64, p.yLen()), make([]float64, p.yLen())
	dx, dxa = make([]float64, p.xLen()), make([]float64, p.xLen())
	dw, dwa = make([]float64, p.wLen()), make([]float64, p.wLen())
	convTaps(p, func(yi, xi, wi int) {
		t := float64(x[xi]) * float64(w[wi])
		y[yi] += t
		ya[yi] += math.Abs(t)
		t = float64(dy[yi]) * float64(w[wi])
		dx[xi] += t
		dxa[xi] += math.Abs(t)
		t = float64(dy[yi]) * float64(x[xi])
		dw[wi] += t
		dwa[wi] += math.Abs(t)
	})
	return
}

func convCases() []ConvParams {
	cs := []ConvParams{
		{N: 1, C: 1, H: 1, W: 1, K: 1, R: 1, S: 1},
		{N: 2, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, PadH: 1, PadW: 1},
		{N: 2, C: 3, H: 9, W: 7, K: 5, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 1, C: 4, H: 10, W: 12, K: 3, R: 1, S: 1},                                           // pointwise, direct
		{N: 3, C: 4, H: 5, W: 3, K: 6, R: 1, S: 1},                                             // pointwise, batched
		{N: 2, C: 4, H: 10, W: 12, K: 3, R: 1, S: 1, StrideH: 2, StrideW: 2},                   // strided 1×1
		{N: 2, C: 3, H: 15, W: 13, K: 4, R: 7, S: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}, // stem-like
		{N: 2, C: 2, H: 6, W: 9, K: 3, R: 2, S: 4, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2},   // non-square
		{N: 8, C: 4, H: 7, W: 7, K: 5, R: 3, S: 3, PadH: 1, PadW: 1},                           // backward 6+2 images per GEMM
		{N: 25, C: 2, H: 7, W: 7, K: 3, R: 3, S: 3, PadH: 1, PadW: 1},                          // forward 13+12
		{N: 2, C: 3, H: 11, W: 10, K: 2, R: 3, S: 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 3},
		{N: 2, C: 4, H: 6, W: 6, K: 6, R: 3, S: 3, PadH: 1, PadW: 1, Groups: 2},
		{N: 1, C: 2, H: 4, W: 4, K: 2, R: 4, S: 4, PadH: 3, PadW: 3},         // taps far in the padding
		{N: 2, C: 3, H: 20, W: 20, K: 8, R: 5, S: 5, StrideH: 3, StrideW: 3}, // stride > 1 without padding
		{N: 2, C: 2, H: 5, W: 9, K: 3, R: 3, S: 3, PadW: 2, DilationW: 2},    // width kept, height not, dilated
		{N: 2, C: 2, H: 3, W: 4, K: 2, R: 7, S: 5, PadH: 3, PadW: 2},         // width and height kept, rows all in the padding
		{N: 2, C: 3, H: 5, W: 1, K: 4, R: 3, S: 5, StrideH: 2, PadW: 2},      // columns all in the padding, stride 1 across
	}
	if !testing.Short() {
		cs = append(cs, ConvParams{N: 2, C: 16, H: 28, W: 28, K: 24, R: 3, S: 3, PadH: 1, PadW: 1})
	}
	return cs
}

func convName(p ConvParams) string {
	q := p.norm()
	return fmt.Sprintf("N%d_C%d_%dx%d_K%d_%dx%d_s%dx%d_p%dx%d_d%dx%d_g%d", q.N, q.C, q.H, q.W, q.K, q.R, q.S,
		q.StrideH, q.StrideW, q.PadH, q.PadW, q.DilationH, q.DilationW, q.Groups)
}

// checkClose reports the first element of got off want by more than
// tol·scale (plus a floor for exact zeros).
func checkClose(t *testing.T, name string, got []float32, want, scale []float64, base []float32) {
	t.Helper()
	for i := range want {
		w := want[i]
		if base != nil {
			w += float64(base[i])
		}
		if d := math.Abs(float64(got[i]) - w); d > 1e-5*scale[i]+1e-6*math.Abs(w)+1e-30 {
			t.Errorf("%s[%d] = %v, want %v (scale %g)", name, i, got[i], w, scale[i])
			return
		}
	}
}

func TestConv2d(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, p := range convCases() {
			t.Run(convName(p), func(t *testing.T) {
				r := rand.New(rand.NewPCG(21, uint64(p.N*p.C*p.H)))
				q := p.norm()
				x, w, dy := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1), randSlice(r, q.yLen(), -1, 1)
				y0, dx0, dw0 := randSlice(r, q.yLen(), -1, 1), randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
				wy, wya, wdx, wdxa, wdw, wdwa := convRefs(p, x, w, dy)

				y := guardedFrom(y0) // overwritten
				Conv2d(y.s(), x, w, p)
				y.check(t, "Conv2d dst")
				checkClose(t, "Conv2d", y.s(), wy, wya, nil)

				dx := guardedFrom(dx0) // accumulated
				Conv2dBackwardData(dx.s(), dy, w, p)
				dx.check(t, "Conv2dBackwardData dx")
				checkClose(t, "Conv2dBackwardData", dx.s(), wdx, wdxa, dx0)

				dw := guardedFrom(dw0) // accumulated
				Conv2dBackwardFilter(dw.s(), x, dy, p)
				dw.check(t, "Conv2dBackwardFilter dw")
				checkClose(t, "Conv2dBackwardFilter", dw.s(), wdw, wdwa, dw0)
			})
		}
	})
}

// TestConv2dChunksBitwise checks that the forward pass gives every image the
// same bits whether it shares its GEMM with others or not.
func TestConv2dChunksBitwise(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 25, C: 5, H: 7, W: 7, K: 6, R: 3, S: 3, PadH: 1, PadW: 1},
		{N: 9, C: 8, H: 14, W: 14, K: 5, R: 1, S: 1},
		{N: 3, C: 3, H: 9, W: 11, K: 4, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	} {
		t.Run(convName(p), func(t *testing.T) {
			if nb := newConvPlan("test", p).fwdNB; nb == 1 {
				t.Fatalf("fwdNB = 1: the case batches nothing")
			}
			r := rand.New(rand.NewPCG(5, uint64(p.N)))
			q := p.norm()
			x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
			scale, shift := randSlice(r, q.K, -1, 1), randSlice(r, q.K, -1, 1)
			add := randSlice(r, q.yLen(), -1, 1)
			ep := ConvEpilogue{Scale: scale, Shift: shift, Add: add, ReLU: true}
			y := make([]float32, q.yLen())
			Conv2dEpilogue(y, x, w, p, ep)
			one := p
			one.N = 1
			xs, ys := len(x)/p.N, len(y)/p.N
			for i := 0; i < p.N; i++ {
				yi := make([]float32, ys)
				Conv2dEpilogue(yi, x[i*xs:(i+1)*xs], w, one, ConvEpilogue{Scale: scale, Shift: shift, Add: add[i*ys : (i+1)*ys], ReLU: true})
				for j := range yi {
					if math.Float32bits(yi[j]) != math.Float32bits(y[i*ys+j]) {
						t.Fatalf("image %d [%d]: alone %v, in a chunk %v", i, j, yi[j], y[i*ys+j])
					}
				}
			}
		})
	}
}

// TestConv2dAdjoint checks ⟨conv(x, w), dy⟩ = ⟨x, convᵀ_x(dy)⟩ = ⟨w, convᵀ_w(dy)⟩
// with the float32 kernels and float64 inner products.
func TestConv2dAdjoint(t *testing.T) {
	dot := func(a, b []float32) (s, sa float64) {
		for i := range a {
			s += float64(a[i]) * float64(b[i])
			sa += math.Abs(float64(a[i]) * float64(b[i]))
		}
		return
	}
	for _, p := range convCases() {
		t.Run(convName(p), func(t *testing.T) {
			r := rand.New(rand.NewPCG(22, 23))
			q := p.norm()
			x, w, dy := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1), randSlice(r, q.yLen(), -1, 1)
			y, dx, dw := make([]float32, q.yLen()), make([]float32, q.xLen()), make([]float32, q.wLen())
			Conv2d(y, x, w, p)
			Conv2dBackwardData(dx, dy, w, p)
			Conv2dBackwardFilter(dw, x, dy, p)
			a, scale := dot(y, dy)
			b, _ := dot(x, dx)
			c, _ := dot(w, dw)
			tol := 1e-5 * (scale + 1)
			if math.Abs(a-b) > tol || math.Abs(a-c) > tol {
				t.Errorf("⟨conv(x), dy⟩ = %v, ⟨x, dx⟩ = %v, ⟨w, dw⟩ = %v (tolerance %g)", a, b, c, tol)
			}
		})
	}
}

func TestConv2dParallelDeterministic(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 4, C: 8, H: 14, W: 14, K: 16, R: 3, S: 3, PadH: 1, PadW: 1},
		{N: 1, C: 64, H: 7, W: 7, K: 256, R: 1, S: 1}, // the transposed lowering
	} {
		t.Run(convName(p), func(t *testing.T) { testConv2dParallelDeterministic(t, p) })
	}
}

func testConv2dParallelDeterministic(t *testing.T, p ConvParams) {
	r := rand.New(rand.NewPCG(24, 25))
	x, w, dy := randSlice(r, p.xLen(), -1, 1), randSlice(r, p.norm().wLen(), -1, 1), randSlice(r, p.yLen(), -1, 1)
	run := func() (y, dx, dw []float32) {
		y, dx, dw = make([]float32, p.yLen()), make([]float32, p.xLen()), make([]float32, p.norm().wLen())
		Conv2d(y, x, w, p)
		Conv2dBackwardData(dx, dy, w, p)
		Conv2dBackwardFilter(dw, x, dy, p)
		return
	}
	prev := Threads()
	defer SetThreads(prev)
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		y1, dx1, dw1 := run()
		y2, dx2, dw2 := run()
		if !sameBits(y1, y2) || !sameBits(dx1, dx2) || !sameBits(dw1, dw2) {
			t.Errorf("threads=%d: two runs differ", th)
		}
	}
}

func TestConvParamsOut(t *testing.T) {
	cases := []struct {
		p      ConvParams
		oh, ow int
	}{
		{ConvParams{H: 224, W: 224, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 112, 112},
		{ConvParams{H: 224, W: 224, R: 7, S: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}, 112, 112},
		{ConvParams{H: 56, W: 56, R: 1, S: 1}, 56, 56},
		{ConvParams{H: 10, W: 11, R: 3, S: 3, DilationH: 2, DilationW: 2}, 6, 7},
		{ConvParams{H: 5, W: 5, R: 2, S: 2, StrideH: 2, StrideW: 2}, 2, 2},
		{ConvParams{H: 1, W: 2, R: 2, S: 4, StrideH: 2, StrideW: 3}, 0, 0}, // floor, not truncation: ⌊-1/2⌋ + 1, ⌊-2/3⌋ + 1
	}
	for _, c := range cases {
		if oh, ow := c.p.OutH(), c.p.OutW(); oh != c.oh || ow != c.ow {
			t.Errorf("%s: OutH, OutW = %d, %d, want %d, %d", convName(c.p), oh, ow, c.oh, c.ow)
		}
	}
}

func TestConv2dPanics(t *testing.T) {
	ok := ConvParams{N: 1, C: 2, H: 4, W: 4, K: 2, R: 3, S: 3}
	cases := []struct {
		name string
		p    ConvParams
		x    int
		want string
	}{
		{"groups", ConvParams{N: 1, C: 3, H: 4, W: 4, K: 2, R: 1, S: 1, Groups: 2}, 48, "multiples of groups"},
		{"kernel too big", ConvParams{N: 1, C: 1, H: 2, W: 2, K: 1, R: 3, S: 3}, 4, "exceeds"},
		{"kernel too big, strided", ConvParams{N: 1, C: 1, H: 1, W: 2, K: 1, R: 2, S: 2, StrideH: 2, StrideW: 2}, 2, "exceeds"},
		{"negative pad", ConvParams{N: 1, C: 1, H: 4, W: 4, K: 1, R: 1, S: 1, PadH: -1}, 16, "negative padding"},
		{"zero channels", ConvParams{N: 1, C: 0, H: 4, W: 4, K: 1, R: 1, S: 1}, 0, "bad sizes"},
		{"short x", ok, 31, "len(x)=31, want 32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.HasPrefix(msg, "kernels: Conv2d: ") || !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want kernels: Conv2d: …%s…", msg, c.want)
				}
			}()
			q := c.p.norm()
			Conv2d(make([]float32, max(0, q.N*q.K*max(1, c.p.OutH())*max(1, c.p.OutW()))), make([]float32, c.x), make([]float32, max(0, q.wLen())), c.p)
		})
	}
}

// TestConv2dEpilogue checks the fused epilogue against Conv2d followed by
// Affine per channel, Add and ReLU, bit for bit, on every ISA.
func TestConv2dEpilogue(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, p := range convCases() {
			q := p.norm()
			x, w := randSlice(rng, q.xLen(), -1, 1), randSlice(rng, q.wLen(), -1, 1)
			scale, shift := randSlice(rng, q.K, -2, 2), randSlice(rng, q.K, -1, 1)
			add := randSlice(rng, q.yLen(), -1, 1)
			l := p.OutH() * p.OutW()
			for _, ep := range []ConvEpilogue{
				{},
				{Scale: scale, Shift: shift},
				{Scale: scale, Shift: shift, ReLU: true},
				{Scale: scale, Shift: shift, Add: add, ReLU: true},
				{Add: add},
			} {
				name := fmt.Sprintf("%s/scale=%v/add=%v/relu=%v", convName(p), ep.Scale != nil, ep.Add != nil, ep.ReLU)
				want := make([]float32, q.yLen())
				Conv2d(want, x, w, p)
				for i := 0; i < q.N; i++ {
					for k := 0; k < q.K; k++ {
						y := want[(i*q.K+k)*l:][:l]
						if ep.Scale != nil {
							Affine(y, scale[k], y, shift[k])
						}
						if ep.Add != nil {
							Add(y, y, add[(i*q.K+k)*l:][:l])
						}
						if ep.ReLU {
							ReLU(y, y)
						}
					}
				}
				got := guardedFrom(make([]float32, q.yLen()))
				withThreads(2, func() { Conv2dEpilogue(got.s(), x, w, p, ep) })
				got.check(t, name)
				for i := range want {
					if math.Float32bits(got.s()[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: y[%d] = %v, want %v", name, i, got.s()[i], want[i])
					}
				}
			}
		}
	})
}

func TestConv2dEpiloguePanics(t *testing.T) {
	p := ConvParams{N: 1, C: 2, H: 4, W: 4, K: 2, R: 3, S: 3, PadH: 1, PadW: 1}
	x, w, y := make([]float32, 32), make([]float32, 36), make([]float32, 32)
	for _, c := range []struct {
		name string
		ep   ConvEpilogue
		want string
	}{
		{"scale without shift", ConvEpilogue{Scale: make([]float32, 2)}, "both be set"},
		{"short scale", ConvEpilogue{Scale: make([]float32, 1), Shift: make([]float32, 1)}, "len(Scale)=1, want 2"},
		{"short add", ConvEpilogue{Add: make([]float32, 31)}, "len(Add)=31, want 32"},
		{"add is dst", ConvEpilogue{Add: y}, "Add overlaps dst"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.HasPrefix(msg, "kernels: Conv2dEpilogue: ") || !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want kernels: Conv2dEpilogue: …%s…", msg, c.want)
				}
			}()
			Conv2dEpilogue(y, x, w, p, c.ep)
		})
	}
}

// TestConv2dChunksOnThreads checks the forward pass that gives each thread
// whole chunks of images: the cases take that path on 2 threads (one of
// them, with 2 chunks, not on 3), and on every ISA, at 2 and 3 threads and
// from inside a ParallelFor (where its chunks run one after another), the
// output is that of one thread bit for bit.
func TestConv2dChunksOnThreads(t *testing.T) {
	cases := []ConvParams{
		{N: 4, C: 16, H: 28, W: 28, K: 24, R: 1, S: 1},                                         // x read in place
		{N: 9, C: 6, H: 14, W: 14, K: 10, R: 1, S: 1},                                          // uneven chunks of images sharing a GEMM
		{N: 4, C: 8, H: 28, W: 28, K: 12, R: 3, S: 3, PadH: 1, PadW: 1},                        // strips packed from x
		{N: 3, C: 3, H: 45, W: 45, K: 8, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, // im2col
		{N: 6, C: 8, H: 24, W: 24, K: 8, R: 3, S: 3, PadH: 1, PadW: 1, Groups: 2},
	}
	for _, p := range cases {
		if c := newConvPlan("test", p); !c.chunked(2, false) || c.chunked(1, false) {
			t.Errorf("%s: chunked on 2 threads %v, on 1 %v; want true, false", convName(p), c.chunked(2, false), c.chunked(1, false))
		}
	}
	forEachISA(t, func(t *testing.T) {
		for _, p := range cases {
			r := rand.New(rand.NewPCG(31, uint64(p.N*p.H)))
			q := p.norm()
			x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
			ep := ConvEpilogue{Scale: randSlice(r, q.K, -1, 1), Shift: randSlice(r, q.K, -1, 1), Add: randSlice(r, q.yLen(), -1, 1), ReLU: true}
			run := func(threads int, nested bool) []float32 {
				y := guardedFrom(randSlice(r, q.yLen(), -1, 1))
				withThreads(threads, func() {
					if !nested {
						Conv2dEpilogue(y.s(), x, w, p, ep)
						return
					}
					ParallelFor(threads, 1, func(lo, _ int) {
						if lo == 0 {
							Conv2dEpilogue(y.s(), x, w, p, ep)
						}
					})
				})
				y.check(t, convName(p))
				return y.s()
			}
			want := run(1, false)
			for _, tc := range []struct {
				threads int
				nested  bool
			}{{2, false}, {3, false}, {2, true}} {
				if got := run(tc.threads, tc.nested); !sameBits(got, want) {
					t.Errorf("%s: %d threads (nested %v) differ from one", convName(p), tc.threads, tc.nested)
				}
			}
		}
	})
}
