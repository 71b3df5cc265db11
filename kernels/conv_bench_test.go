package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkConv2d times the forward and both backward passes at the
// ResNet-50 / CLIP-RN50 shapes and reports GFLOP/s (2·N·K·C·R·S·OH·OW for
// each pass). Two baselines for the forward pass: gemm runs only its Sgemm
// calls (the ceiling for im2col + GEMM), and direct a straightforward loop
// nest (one axpy over an output row per channel and tap), the simpler
// alternative to im2col + GEMM.
//
//	go test -run '^$' -bench Conv2d -benchtime 1x ./kernels/
func BenchmarkConv2d(b *testing.B) {
	shapes := []struct {
		name string
		p    ConvParams
	}{
		{"stem3to32s2_224", ConvParams{N: 1, C: 3, H: 224, W: 224, K: 32, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}},
		{"64to64_3x3_56", ConvParams{N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, PadH: 1, PadW: 1}},
		{"64to256_1x1_56", ConvParams{N: 1, C: 64, H: 56, W: 56, K: 256, R: 1, S: 1}},
		{"128to128_3x3_28", ConvParams{N: 1, C: 128, H: 28, W: 28, K: 128, R: 3, S: 3, PadH: 1, PadW: 1}},
		{"256to256_3x3_14", ConvParams{N: 1, C: 256, H: 14, W: 14, K: 256, R: 3, S: 3, PadH: 1, PadW: 1}},
		{"512to512_3x3_7", ConvParams{N: 1, C: 512, H: 7, W: 7, K: 512, R: 3, S: 3, PadH: 1, PadW: 1}},
		{"512to512_3x3_7_N8", ConvParams{N: 8, C: 512, H: 7, W: 7, K: 512, R: 3, S: 3, PadH: 1, PadW: 1}},
		{"64to64_3x3_56_N8", ConvParams{N: 8, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, PadH: 1, PadW: 1}},
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, sh := range shapes {
		p := sh.p.norm()
		x, w, dy := randSlice(r, p.xLen(), -1, 1), randSlice(r, p.wLen(), -1, 1), randSlice(r, p.yLen(), -1, 1)
		y, dx, dw := make([]float32, p.yLen()), make([]float32, p.xLen()), make([]float32, p.wLen())
		passes := []struct {
			name string
			f    func()
		}{
			{"forward", func() { Conv2d(y, x, w, p) }},
			{"data", func() { Conv2dBackwardData(dx, dy, w, p) }},
			{"filter", func() { Conv2dBackwardFilter(dw, x, dy, p) }},
		}
		// gemm times the forward pass's GEMMs alone (on an unrelated B of the
		// same shape), which bounds what im2col + GEMM can reach.
		c := newConvPlan("bench", p)
		bm, cm := randSlice(r, c.crs*c.nb*c.l, -1, 1), make([]float32, c.kg*c.nb*c.l)
		passes = append(passes, struct {
			name string
			f    func()
		}{"gemm", func() {
			for n0 := 0; n0 < p.N; n0 += c.nb {
				cols := min(c.nb, p.N-n0) * c.l
				Sgemm(false, false, c.kg, cols, c.crs, 1, w, c.crs, bm, cols, 0, cm, cols)
			}
		}})
		if p.N == 1 {
			passes = append(passes, struct {
				name string
				f    func()
			}{"direct", func() { conv2dDirect(y, x, w, p) }})
		}
		for _, pass := range passes {
			b.Run(sh.name+"/"+pass.name, func(b *testing.B) {
				for b.Loop() {
					pass.f()
				}
				b.ReportMetric(p.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// conv2dDirect is the direct loop nest for groups=1, dilation 1: for every
// output channel, input channel and tap, one axpy per output row.
func conv2dDirect(dst, x, w []float32, p ConvParams) {
	c := newConvPlan("conv2dDirect", p)
	if c.Groups != 1 || c.DilationH != 1 || c.DilationW != 1 {
		panic(fmt.Sprintf("conv2dDirect: unsupported %+v", p))
	}
	clear(dst)
	axpy := elt().axpy
	hw := c.H * c.W
	ParallelFor(c.N*c.K, 1, func(lo, hi int) {
		for nk := lo; nk < hi; nk++ {
			n, k := nk/c.K, nk%c.K
			out := dst[nk*c.l : (nk+1)*c.l]
			for ch := 0; ch < c.C; ch++ {
				plane := x[(n*c.C+ch)*hw:][:hw]
				for r := 0; r < c.R; r++ {
					for s := 0; s < c.S; s++ {
						wv := w[((k*c.C+ch)*c.R+r)*c.S+s]
						off := s - c.PadW
						lo, hi := span(off, c.StrideW, c.W, c.ow)
						for oh := 0; oh < c.oh; oh++ {
							ih := oh*c.StrideH - c.PadH + r
							if ih < 0 || ih >= c.H || lo >= hi {
								continue
							}
							src, d := plane[ih*c.W:(ih+1)*c.W], out[oh*c.ow:(oh+1)*c.ow]
							if c.StrideW == 1 {
								axpy(wv, src[lo+off:hi+off], d[lo:hi])
								continue
							}
							for ow := lo; ow < hi; ow++ {
								d[ow] += wv * src[ow*c.StrideW+off]
							}
						}
					}
				}
			}
		}
	})
}

// TestConv2dDirect keeps the benchmark's baseline honest.
func TestConv2dDirect(t *testing.T) {
	p := ConvParams{N: 2, C: 3, H: 9, W: 8, K: 4, R: 3, S: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1}
	r := rand.New(rand.NewPCG(4, 4))
	q := p.norm()
	x, w := randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1)
	want, got := make([]float32, q.yLen()), make([]float32, q.yLen())
	Conv2d(want, x, w, p)
	conv2dDirect(got, x, w, p)
	for i := range want {
		if d := want[i] - got[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("direct[%d] = %v, im2col+GEMM %v", i, got[i], want[i])
		}
	}
}

// rn50Convs lists the forward convolutions of CLIP's RN50 image tower at
// 224×224 (3-conv stem, bottlenecks of 3-4-6-3 blocks whose strides are
// average pools, so every convolution but the first has stride 1), each
// distinct shape with the number of times the tower runs it.
var rn50Convs = []struct {
	p     ConvParams
	count int
}{
	{ConvParams{C: 3, H: 224, W: 224, K: 32, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 32, H: 112, W: 112, K: 32, R: 3, S: 3, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 32, H: 112, W: 112, K: 64, R: 3, S: 3, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 64, H: 56, W: 56, K: 64, R: 1, S: 1}, 1},
	{ConvParams{C: 256, H: 56, W: 56, K: 64, R: 1, S: 1}, 2},
	{ConvParams{C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, PadH: 1, PadW: 1}, 3},
	{ConvParams{C: 64, H: 56, W: 56, K: 256, R: 1, S: 1}, 4},
	{ConvParams{C: 256, H: 56, W: 56, K: 128, R: 1, S: 1}, 1},
	{ConvParams{C: 128, H: 56, W: 56, K: 128, R: 3, S: 3, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 128, H: 28, W: 28, K: 512, R: 1, S: 1}, 4},
	{ConvParams{C: 256, H: 28, W: 28, K: 512, R: 1, S: 1}, 1},
	{ConvParams{C: 512, H: 28, W: 28, K: 128, R: 1, S: 1}, 3},
	{ConvParams{C: 128, H: 28, W: 28, K: 128, R: 3, S: 3, PadH: 1, PadW: 1}, 3},
	{ConvParams{C: 512, H: 28, W: 28, K: 256, R: 1, S: 1}, 1},
	{ConvParams{C: 256, H: 28, W: 28, K: 256, R: 3, S: 3, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 256, H: 14, W: 14, K: 1024, R: 1, S: 1}, 6},
	{ConvParams{C: 512, H: 14, W: 14, K: 1024, R: 1, S: 1}, 1},
	{ConvParams{C: 1024, H: 14, W: 14, K: 256, R: 1, S: 1}, 5},
	{ConvParams{C: 256, H: 14, W: 14, K: 256, R: 3, S: 3, PadH: 1, PadW: 1}, 5},
	{ConvParams{C: 1024, H: 14, W: 14, K: 512, R: 1, S: 1}, 1},
	{ConvParams{C: 512, H: 14, W: 14, K: 512, R: 3, S: 3, PadH: 1, PadW: 1}, 1},
	{ConvParams{C: 512, H: 7, W: 7, K: 2048, R: 1, S: 1}, 3},
	{ConvParams{C: 1024, H: 7, W: 7, K: 2048, R: 1, S: 1}, 1},
	{ConvParams{C: 2048, H: 7, W: 7, K: 512, R: 1, S: 1}, 2},
	{ConvParams{C: 512, H: 7, W: 7, K: 512, R: 3, S: 3, PadH: 1, PadW: 1}, 2},
}

// rn50Conv is one convolution of rn50Convs with its operands.
type rn50Conv struct {
	p            ConvParams
	count        int
	x, w, y      []float32
	scale, shift []float32
	packed       *PackedConv // the filters packed, for the packed variants
}

// newRN50Convs returns the convolutions of rn50Convs on a batch of n.
func newRN50Convs(n int) []rn50Conv {
	r := rand.New(rand.NewPCG(8, 8))
	var convs []rn50Conv
	for _, c := range rn50Convs {
		p := c.p
		p.N = n
		q := p.norm()
		convs = append(convs, rn50Conv{p, c.count, randSlice(r, q.xLen(), -1, 1), randSlice(r, q.wLen(), -1, 1),
			make([]float32, q.yLen()), randSlice(r, q.K, -1, 1), randSlice(r, q.K, -1, 1), nil})
	}
	return convs
}

// run applies the convolution with the frozen batch norm and ReLU fused as
// the tower does, reading its packed filters if it has them.
func (c *rn50Conv) run() {
	ep := ConvEpilogue{Scale: c.scale, Shift: c.shift, ReLU: true}
	if c.packed != nil {
		Conv2dPacked(c.y, c.x, c.w, c.packed, c.p, ep)
		return
	}
	Conv2dEpilogue(c.y, c.x, c.w, c.p, ep)
}

// pack packs the filters of convs.
func pack(convs []rn50Conv) {
	for i := range convs {
		p := convs[i].p
		convs[i].packed = PackConv(convs[i].w, p.K, p.C, p.R, p.S, 1)
	}
}

// BenchmarkConv2dRN50 runs every forward convolution of an RN50 image
// tower on a batch of 1 or 8, with the frozen batch norm and ReLU fused as
// the tower does, its filters packed on every call or once before
// (packed, as for inference: PackConv and Conv2dPacked), and reports GFLOP/s over the whole set and the percentage
// of the FMA peak of the threads in use (issue 2's target for convolution).
// The layer/ sub-benchmarks time each distinct shape alone, at batch 1 and
// 8, and add the milliseconds its repetitions take in one tower; a layer
// timed alone keeps its weights in cache, which the whole set, like a real
// tower, does not.
//
//	go test -run '^$' -bench Conv2dRN50 -benchtime 5x ./kernels/
func BenchmarkConv2dRN50(b *testing.B) {
	peak := PeakGFLOPS(Threads(), 200*time.Millisecond)
	report := func(b *testing.B, flops float64) {
		gflops := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
		b.ReportMetric(gflops, "GFLOP/s")
		b.ReportMetric(100*gflops/peak, "%peak")
	}
	variants := []struct {
		name   string
		n      int
		packed bool
	}{{"N1", 1, false}, {"N8", 8, false}, {"N1packed", 1, true}, {"N8packed", 8, true}}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			convs := newRN50Convs(v.n)
			if v.packed {
				pack(convs)
			}
			flops := 0.0
			for _, c := range convs {
				flops += float64(c.count) * c.p.FLOPs()
			}
			for b.Loop() {
				for i := range convs {
					for range convs[i].count {
						convs[i].run()
					}
				}
			}
			report(b, flops)
		})
	}
	for _, v := range variants {
		convs := newRN50Convs(v.n)
		if v.packed {
			pack(convs)
		}
		for i := range convs {
			c := &convs[i]
			b.Run(fmt.Sprintf("layer/%s_C%d_%dx%d_K%d_%dx%d_s%d", v.name, c.p.C, c.p.H, c.p.W, c.p.K, c.p.R, c.p.S, orOne(c.p.StrideH)), func(b *testing.B) {
				for b.Loop() {
					c.run()
				}
				report(b, c.p.FLOPs())
				b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N)*float64(c.count), "ms/tower")
			})
		}
	}
}

// BenchmarkConv2dRN50Backward runs the backward passes of every
// convolution of an RN50 image tower on a training batch of 8: data, the
// gradient of the input (Conv2dBackwardData; not for the stem's first
// convolution, whose input is the image), and filter, the gradient of the
// filters (Conv2dBackwardFilter). Like BenchmarkConv2dRN50 it reports
// GFLOP/s over the whole set and the percentage of the FMA peak measured
// in the same run, and the layer/ sub-benchmarks time each shape alone.
//
//	go test -run '^$' -bench Conv2dRN50Backward -benchtime 5x ./kernels/
func BenchmarkConv2dRN50Backward(b *testing.B) {
	peak := PeakGFLOPS(Threads(), 200*time.Millisecond)
	convs := newRN50Convs(8)
	r := rand.New(rand.NewPCG(9, 9))
	type grads struct{ dy, dx, dw []float32 }
	gs := make([]grads, len(convs))
	for i, c := range convs {
		q := c.p.norm()
		gs[i] = grads{randSlice(r, q.yLen(), -1, 1), make([]float32, q.xLen()), make([]float32, q.wLen())}
	}
	passes := []struct {
		name string
		skip func(i int) bool
		run  func(i int)
	}{
		{"data", func(i int) bool { return i == 0 }, func(i int) { Conv2dBackwardData(gs[i].dx, gs[i].dy, convs[i].w, convs[i].p) }},
		{"filter", func(int) bool { return false }, func(i int) { Conv2dBackwardFilter(gs[i].dw, convs[i].x, gs[i].dy, convs[i].p) }},
	}
	report := func(b *testing.B, flops float64) {
		gflops := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
		b.ReportMetric(gflops, "GFLOP/s")
		b.ReportMetric(100*gflops/peak, "%peak")
	}
	for _, pass := range passes {
		b.Run("N8/"+pass.name, func(b *testing.B) {
			flops := 0.0
			for i, c := range convs {
				if !pass.skip(i) {
					flops += float64(c.count) * c.p.FLOPs()
				}
			}
			for b.Loop() {
				for i := range convs {
					if pass.skip(i) {
						continue
					}
					for range convs[i].count {
						pass.run(i)
					}
				}
			}
			report(b, flops)
		})
	}
	for _, pass := range passes {
		for i := range convs {
			if pass.skip(i) {
				continue
			}
			c := &convs[i]
			b.Run(fmt.Sprintf("layer/N8%s_C%d_%dx%d_K%d_%dx%d_s%d", pass.name, c.p.C, c.p.H, c.p.W, c.p.K, c.p.R, c.p.S, orOne(c.p.StrideH)), func(b *testing.B) {
				for b.Loop() {
					pass.run(i)
				}
				report(b, c.p.FLOPs())
				b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N)*float64(c.count), "ms/tower")
			})
		}
	}
}
