package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// This file holds 2-D convolution over NCHW float32 data, lowered to Sgemm.
//
// Layouts (row-major, PyTorch's):
//
//	x  (N, C, H, W)         input
//	w  (K, C/G, R, S)       weights, OIHW; as a matrix (K, C/G·R·S) per group
//	y  (N, K, OH, OW)       output
//
// For one group of one image, with L = OH·OW, the convolution is the GEMM
// y (K/G, L) = w (K/G, CRS) · col (CRS, L), where col is the im2col matrix:
// row (c, r, s) holds the input pixel under kernel tap (r, s) of channel c
// for every output position, 0 in the padding. The data gradient is
// dcol = wᵀ·dy followed by col2im (the adjoint of im2col, adding into dx),
// and the filter gradient is dw += dy·colᵀ.
//
// Batch: images are handled in chunks, one GEMM per chunk and group. When an
// image has few output positions (the 14×14 and 7×7 stages of a ResNet)
// several images share one GEMM, whose column count nb·L then keeps the GEMM
// efficient; the outputs are scattered back to NCHW, a copy that costs K·L
// per image against the GEMM's 2·K·CRS·L. The forward pass batches images
// of fewer than convFwdCols/2 positions, aiming at convFwdCols columns per
// GEMM spread evenly over the chunks, since its values do not depend on the
// chunking (an image of 28×28 outputs runs alone: batching gained nothing
// there and cost the copies); the backward passes keep convMinCols, because
// the filter gradient sums over the columns and its rounding follows the
// chunks.
//
// A 1×1 convolution with stride 1 and no padding needs no im2col: one image
// (C, H·W) already is its column matrix, and the GEMM reads x (and writes dx)
// in place.
//
// im2col + GEMM was chosen over a direct loop nest: the GEMM carries all the
// arithmetic at the speed of the packed micro-kernel, while im2col is a
// memory copy of CRS·L floats per image, cheap next to 2·K·CRS·L flops for
// any K above a few dozen (see BenchmarkConv2d, which times both paths).
// The forward pass of a stride-1 convolution that keeps the width skips
// even that copy: the GEMM packs its strips of the column matrix straight
// from x (conv_implicit.go). A forward chunk of very few output positions
// computes the transposed product instead (conv_transposed.go). For
// inference the filters can be packed once (PackConv, PackConvInPlace) into
// the layout the direct lowering's GEMM reads (packedA), which
// Conv2dPacked then reads instead of packing them in every call
// (conv_packed.go).
//
// Work is split across the worker pool inside Sgemm and, for im2col, col2im
// and the scatters, over rows or channels; a forward pass with at least a
// chunk of images per thread gives each thread whole chunks instead
// (forwardChunks), so that no thread waits for another inside a GEMM. Every
// split writes disjoint outputs and no split changes how an output element
// is summed, so results are the same for every thread count.

// ConvParams describes a 2-D convolution over NCHW data.
type ConvParams struct {
	N, C, H, W int // input: N images of C channels of H×W
	K          int // output channels
	R, S       int // kernel height and width

	StrideH, StrideW     int // 0 means 1
	PadH, PadW           int // zero padding on each side
	DilationH, DilationW int // 0 means 1
	Groups               int // 0 means 1; C and K must be multiples of it
}

func orOne(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// norm returns p with the zero defaults replaced by 1.
func (p ConvParams) norm() ConvParams {
	p.StrideH, p.StrideW = orOne(p.StrideH), orOne(p.StrideW)
	p.DilationH, p.DilationW = orOne(p.DilationH), orOne(p.DilationW)
	p.Groups = orOne(p.Groups)
	return p
}

// OutH returns the output height, ⌊(H + 2·PadH - DilationH·(R-1) - 1)/StrideH⌋ + 1,
// less than 1 when the kernel is taller than the padded input.
func (p ConvParams) OutH() int {
	p = p.norm()
	return floorDiv(p.H+2*p.PadH-p.DilationH*(p.R-1)-1, p.StrideH) + 1
}

// OutW returns the output width, ⌊(W + 2·PadW - DilationW·(S-1) - 1)/StrideW⌋ + 1,
// less than 1 when the kernel is wider than the padded input.
func (p ConvParams) OutW() int {
	p = p.norm()
	return floorDiv(p.W+2*p.PadW-p.DilationW*(p.S-1)-1, p.StrideW) + 1
}

// floorDiv returns ⌊a/b⌋ for b > 0; Go's a/b truncates toward zero, which
// rounds a negative a up.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// FLOPs returns the multiply-adds of the forward pass times two,
// 2·N·K·(C/G)·R·S·OH·OW.
func (p ConvParams) FLOPs() float64 {
	q := p.norm()
	return 2 * float64(q.N) * float64(q.K) * float64(q.C/q.Groups) * float64(q.R*q.S) * float64(p.OutH()*p.OutW())
}

// Sizes of the operands, in elements.
func (p ConvParams) xLen() int { return p.N * p.C * p.H * p.W }
func (p ConvParams) wLen() int { return p.K * (p.C / p.Groups) * p.R * p.S }
func (p ConvParams) yLen() int { return p.N * p.K * p.OutH() * p.OutW() }

// check panics unless p is a valid, normalised convolution.
func (p ConvParams) check(op string) {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("kernels: %s: "+format, append([]any{op}, args...)...))
	}
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1:
		bad("bad sizes N=%d C=%d H=%d W=%d K=%d R=%d S=%d", p.N, p.C, p.H, p.W, p.K, p.R, p.S)
	case p.StrideH < 1 || p.StrideW < 1 || p.DilationH < 1 || p.DilationW < 1 || p.Groups < 1:
		bad("stride (%d, %d), dilation (%d, %d) and groups %d must be positive", p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.Groups)
	case p.PadH < 0 || p.PadW < 0:
		bad("negative padding (%d, %d)", p.PadH, p.PadW)
	case p.C%p.Groups != 0 || p.K%p.Groups != 0:
		bad("C=%d and K=%d must be multiples of groups=%d", p.C, p.K, p.Groups)
	case p.OutH() < 1 || p.OutW() < 1:
		bad("kernel %d×%d (dilation %d, %d) exceeds the padded input %d×%d", p.R, p.S, p.DilationH, p.DilationW, p.H+2*p.PadH, p.W+2*p.PadW)
	}
}

func checkConvLen(op, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d, want %d", op, name, got, want))
	}
}

// convMinCols is the GEMM column count below which the backward passes
// batch images into one GEMM; convFwdCols is the forward pass's target.
const (
	convMinCols = 256
	convFwdCols = 1024
)

// convPlan is the lowering of one convolution.
type convPlan struct {
	ConvParams
	oh, ow, l   int // output size and l = oh·ow
	cg, kg, crs int // channels and filters per group, rows of col
	nb          int // images per GEMM in the backward passes
	fwdNB       int // and in the forward pass
	pointwise   bool
}

func newConvPlan(op string, p ConvParams) convPlan {
	p = p.norm()
	p.check(op)
	c := convPlan{ConvParams: p, oh: p.OutH(), ow: p.OutW()}
	c.l = c.oh * c.ow
	c.cg, c.kg = p.C/p.Groups, p.K/p.Groups
	c.crs = c.cg * p.R * p.S
	c.nb = max(1, min(p.N, (convMinCols+c.l-1)/c.l))
	c.fwdNB = 1
	if c.l < convFwdCols/2 {
		c.fwdNB = evenChunks(p.N, (convFwdCols+c.l-1)/c.l)
	}
	c.pointwise = p.R == 1 && p.S == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0
	return c
}

// evenChunks returns the images per chunk when n images are split into as
// few chunks of at most nb as possible, of sizes as equal as possible.
func evenChunks(n, nb int) int {
	if n <= nb {
		return max(n, 1)
	}
	chunks := (n + nb - 1) / nb
	return (n + chunks - 1) / chunks
}

// direct reports whether a chunk of nb images can use x and dx as the
// column matrix in place.
func (c *convPlan) direct(nb int) bool { return c.pointwise && nb == 1 }

// forward computes y (K/G, nb·L) = w_g · col for group g of images
// n0..n0+nb-1, with the epilogue ep, reading x in place, packing the GEMM's
// strips straight from x, or building the column matrix in col. The
// filters come from pa when it is not nil, else from wg. The GEMM runs on
// the calling goroutine alone if serial, else on all the threads.
func (c *convPlan) forward(y, wg []float32, pa *packedA, x, col []float32, n0, nb, g int, ep Epilogue, serial bool) {
	cols := nb * c.l
	kern := kernelFor(current)
	j := sgemmJob{
		kern: kern, blk: blockingFor(kern),
		m: c.kg, n: cols, k: c.crs, alpha: 1,
		a: wg, lda: c.crs, c: y, ldc: cols, ep: ep,
	}
	switch {
	case pa == nil:
	case pa.fits(j.kern, j.blk):
		j.pa = pa
	default: // packed for another kernel or KC
		j.a = pa.unpacked()
	}
	if c.direct(nb) || !c.packsFromX() {
		j.b, j.ldb = c.columns(col, x, n0, nb, g), cols
	} else {
		j.src = &convStrips{c: c, x: x, n0: n0, nb: nb, g: g, fast: packAsm(kern.isa)}
	}
	if !serial {
		j.run()
		return
	}
	buf := sgemmBufs.Get().(*sgemmBuf)
	j.part(0, j.m, 0, j.n, nil, 0, buf)
	sgemmBufs.Put(buf)
}

// Conv2d computes the convolution dst = x ⊛ w with the geometry p, writing
// dst (N, K, OH, OW). x is (N, C, H, W) and w is (K, C/Groups, R, S).
func Conv2d(dst, x, w []float32, p ConvParams) {
	conv2d("Conv2d", dst, x, w, nil, p, ConvEpilogue{})
}

// ConvEpilogue is work fused into the store of a convolution's output:
// for output channel k of every image,
//
//	y = ReLU(Scale[k]·y + Shift[k] + Add)
//
// each part present only when set: a frozen batch norm, a residual
// (N, K, OH, OW) tensor, a ReLU. The values are those of Affine, Add and
// ReLU applied one after the other, bit for bit.
type ConvEpilogue struct {
	Scale, Shift []float32 // K values each, both or neither
	Add          []float32 // like dst; must not overlap it
	ReLU         bool
}

// Conv2dEpilogue is Conv2d followed by ep, applied to each block of the
// output while it is in cache.
func Conv2dEpilogue(dst, x, w []float32, p ConvParams, ep ConvEpilogue) {
	conv2d("Conv2dEpilogue", dst, x, w, nil, p, ep)
}

// Conv2dPacked is Conv2dEpilogue with the filters w also at hand packed in
// pw (PackConv or PackConvInPlace), which the GEMMs read instead of packing
// w on every call; every chunk takes the direct lowering. pw must hold w's
// current values: the result is then that of Conv2dEpilogue bit for bit.
// w itself is not read (PackConvInPlace leaves the packed layout there):
// it only has to have the filters' length. It panics like Conv2dEpilogue,
// and when pw is nil or packs filters of another shape.
func Conv2dPacked(dst, x, w []float32, pw *PackedConv, p ConvParams, ep ConvEpilogue) {
	const op = "Conv2dPacked"
	if pw == nil {
		panic("kernels: " + op + ": nil PackedConv")
	}
	// (conv2d reports a Groups below 1, which matches cannot divide by.)
	if q := p.norm(); q.Groups > 0 && !pw.matches(q) {
		panic(fmt.Sprintf("kernels: %s: filters packed for K=%d C=%d R=%d S=%d groups=%d, want K=%d C=%d R=%d S=%d groups=%d",
			op, pw.k, pw.cg*pw.groups, pw.r, pw.s, pw.groups, q.K, q.C, q.R, q.S, q.Groups))
	}
	conv2d(op, dst, x, w, pw, p, ep)
}

func conv2d(op string, dst, x, w []float32, pw *PackedConv, p ConvParams, ep ConvEpilogue) {
	c := newConvPlan(op, p)
	checkConvLen(op, "x", len(x), c.xLen())
	checkConvLen(op, "w", len(w), c.wLen())
	checkConvLen(op, "dst", len(dst), c.yLen())
	if (ep.Scale == nil) != (ep.Shift == nil) {
		panic(fmt.Sprintf("kernels: %s: Scale and Shift must both be set or both be nil", op))
	}
	if ep.Scale != nil {
		checkConvLen(op, "Scale", len(ep.Scale), c.K)
		checkConvLen(op, "Shift", len(ep.Shift), c.K)
	}
	if ep.Add != nil {
		checkConvLen(op, "Add", len(ep.Add), c.yLen())
		if len(dst) > 0 && overlaps(dst, 1, len(dst), len(dst), ep.Add, 1, len(dst), len(dst)) {
			panic(fmt.Sprintf("kernels: %s: Add overlaps dst", op))
		}
	}
	nb := c.fwdNB
	tr := c.transposed(nb) && pw == nil
	if threads := Threads(); c.chunked(threads, tr) {
		c.forwardChunks(dst, x, w, pw, nb, threads, ep)
		return
	}
	col, tmp := c.scratch(nb, c.packsFromX() && !tr, tr)
	defer putScratch(col, tmp)
	for n0 := 0; n0 < c.N; n0 += nb {
		c.forwardChunk(dst, x, w, pw, *col, *tmp, n0, min(nb, c.N-n0), tr, false, ep)
	}
}

// chunked reports whether the forward pass on the given threads gives each
// thread whole chunks of fwdNB images (forwardChunks), which the transposed
// lowering (tr) does not.
func (c *convPlan) chunked(threads int, tr bool) bool {
	return threads > 1 && (c.N+c.fwdNB-1)/c.fwdNB >= threads && !tr
}

// forwardChunks computes the forward pass chunk by chunk on the threads at
// once, each chunk on one thread: the threads take the next chunk as they
// finish one, and no chunk waits for another, where threads sharing one
// GEMM wait for each other's strips at every block of k. Every output
// element is computed as in any other split, so the bits are the same.
//
// It serves batches with at least a chunk per thread. Splitting a batch
// into more chunks than fwdNB gives, to have one per thread, did not pay:
// measured on RN50's 7×7 stage at batch 8 and 2 threads, chunks of 4 images
// (196 columns) ran up to 2.2× as long as one GEMM of 8 shared by the
// threads (its 2048-row 1×1 convolution), where every thread packs all of
// A for few columns.
func (c *convPlan) forwardChunks(dst, x, w []float32, pw *PackedConv, nb, threads int, ep ConvEpilogue) {
	chunks := (c.N + nb - 1) / nb
	var next atomic.Int32
	ParallelFor(threads, 1, func(_, _ int) {
		col, tmp := c.scratch(nb, c.packsFromX(), false)
		defer putScratch(col, tmp)
		for {
			i := int(next.Add(1)) - 1
			if i >= chunks {
				return
			}
			n0 := i * nb
			c.forwardChunk(dst, x, w, pw, *col, *tmp, n0, min(nb, c.N-n0), false, true, ep)
		}
	})
}

// forwardChunk computes the output of images n0..n0+nb-1 for every group,
// through the transposed lowering if tr, and on the calling goroutine
// alone if serial (which the transposed lowering does not support).
func (c *convPlan) forwardChunk(dst, x, w []float32, pw *PackedConv, col, tmp []float32, n0, nb int, tr, serial bool, ep ConvEpilogue) {
	cols := nb * c.l
	for g := 0; g < c.Groups; g++ {
		wg := w[g*c.kg*c.crs : (g+1)*c.kg*c.crs]
		var pa *packedA
		if pw != nil {
			pa = pw.wa[g]
		}
		switch {
		case tr:
			c.forwardT(dst, tmp, wg, x, col, n0, nb, g, ep)
		case nb == 1:
			y := dst[(n0*c.K+g*c.kg)*c.l : (n0*c.K+(g+1)*c.kg)*c.l]
			c.forward(y, wg, pa, x, col, n0, 1, g, c.epilogue(ep, n0, g), serial)
		default:
			c.forward(tmp[:c.kg*cols], wg, pa, x, col, n0, nb, g, Epilogue{}, serial)
			c.scatter(dst, tmp, n0, nb, g, ep)
		}
	}
}

// epilogue returns ep for the (K/G, L) output block of group g of image i.
func (c *convPlan) epilogue(ep ConvEpilogue, i, g int) Epilogue {
	var e Epilogue
	if ep.Scale != nil {
		e.Scale, e.Shift = ep.Scale[g*c.kg:(g+1)*c.kg], ep.Shift[g*c.kg:(g+1)*c.kg]
	}
	if ep.Add != nil {
		e.Add = ep.Add[(i*c.K+g*c.kg)*c.l : (i*c.K+(g+1)*c.kg)*c.l]
	}
	if ep.ReLU {
		e.Act = ActReLU
	}
	return e
}

// Conv2dBackwardData adds the gradient of Conv2d with respect to x into dx:
// dx += ∂⟨dy, Conv2d(x, w)⟩/∂x. dx is (N, C, H, W), dy (N, K, OH, OW).
func Conv2dBackwardData(dx, dy, w []float32, p ConvParams) {
	c := newConvPlan("Conv2dBackwardData", p)
	checkConvLen("Conv2dBackwardData", "dx", len(dx), c.xLen())
	checkConvLen("Conv2dBackwardData", "w", len(w), c.wLen())
	checkConvLen("Conv2dBackwardData", "dy", len(dy), c.yLen())
	col, tmp := c.scratch(c.nb, false, false)
	defer putScratch(col, tmp)
	for n0 := 0; n0 < c.N; n0 += c.nb {
		nb := min(c.nb, c.N-n0)
		cols := nb * c.l
		for g := 0; g < c.Groups; g++ {
			wg := w[g*c.kg*c.crs : (g+1)*c.kg*c.crs]
			dyg := c.gather(*tmp, dy, n0, nb, g)
			if c.direct(nb) {
				dxg := dx[(n0*c.C+g*c.cg)*c.l : (n0*c.C+(g+1)*c.cg)*c.l]
				Sgemm(true, false, c.crs, c.l, c.kg, 1, wg, c.crs, dyg, c.l, 1, dxg, c.l)
				continue
			}
			dcol := (*col)[:c.crs*cols]
			Sgemm(true, false, c.crs, cols, c.kg, 1, wg, c.crs, dyg, cols, 0, dcol, cols)
			c.col2im(dx, dcol, n0, nb, g)
		}
	}
}

// Conv2dBackwardFilter adds the gradient of Conv2d with respect to w into
// dw: dw += ∂⟨dy, Conv2d(x, w)⟩/∂w. dw is (K, C/Groups, R, S). Images are
// added in order, so the result is the same on every run.
func Conv2dBackwardFilter(dw, x, dy []float32, p ConvParams) {
	c := newConvPlan("Conv2dBackwardFilter", p)
	checkConvLen("Conv2dBackwardFilter", "dw", len(dw), c.wLen())
	checkConvLen("Conv2dBackwardFilter", "x", len(x), c.xLen())
	checkConvLen("Conv2dBackwardFilter", "dy", len(dy), c.yLen())
	col, tmp := c.scratch(c.nb, false, false)
	defer putScratch(col, tmp)
	for n0 := 0; n0 < c.N; n0 += c.nb {
		nb := min(c.nb, c.N-n0)
		cols := nb * c.l
		for g := 0; g < c.Groups; g++ {
			dwg := dw[g*c.kg*c.crs : (g+1)*c.kg*c.crs]
			dyg := c.gather(*tmp, dy, n0, nb, g)
			Sgemm(false, true, c.kg, c.crs, cols, 1, dyg, cols, c.columns(*col, x, n0, nb, g), cols, 1, dwg, c.crs)
		}
	}
}

// Scratch buffers are reused across calls; a convolution in a training step
// would otherwise allocate megabytes per call.
var scratchPool sync.Pool

func getScratch(n int) *[]float32 {
	if b, ok := scratchPool.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

func putScratch(bs ...*[]float32) {
	for _, b := range bs {
		scratchPool.Put(b)
	}
}

// scratch returns the column buffer (CRS, nb·L) and the gather/scatter
// buffer (K/G, nb·L) for chunks of nb images. The column buffer is empty
// when every chunk reads x in place, or when noCol says it is not needed;
// the other is empty for one image unless tmp asks for it.
func (c *convPlan) scratch(nb int, noCol, tmp bool) (col, buf *[]float32) {
	cols := nb * c.l
	ncol := c.crs * cols
	if c.direct(nb) || noCol {
		ncol = 0
	}
	ntmp := 0
	if nb > 1 || tmp {
		ntmp = c.kg * cols
	}
	return getScratch(ncol), getScratch(ntmp)
}

// columns returns the column matrix (CRS, nb·L) of group g of images
// n0..n0+nb-1, built in col, or x itself for a pointwise single image.
func (c *convPlan) columns(col, x []float32, n0, nb, g int) []float32 {
	if c.direct(nb) {
		return x[(n0*c.C+g*c.cg)*c.l : (n0*c.C+(g+1)*c.cg)*c.l]
	}
	cols := nb * c.l
	col = col[:c.crs*cols]
	hw := c.H * c.W
	ParallelFor(c.crs, max(1, grainArith/2/cols), func(lo, hi int) {
		for row := lo; row < hi; row++ {
			ch, r, s := row/(c.R*c.S), row/c.S%c.R, row%c.S
			for i := 0; i < nb; i++ {
				plane := x[((n0+i)*c.C+g*c.cg+ch)*hw:][:hw]
				c.im2colRow(col[row*cols+i*c.l:][:c.l], plane, r, s)
			}
		}
	})
	return col
}

// span returns the output columns [lo, hi) whose input column
// ow·StrideW + off falls inside the image, for a tap with input offset off.
// The range may be empty, with lo = hi anywhere in [0, out].
func span(off, stride, in, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := in - 1 - off; last >= 0 {
		hi = min(out, last/stride+1)
	}
	return min(lo, out), max(hi, min(lo, out))
}

// im2colRow fills dst (OH·OW) with the pixels of plane (H, W) under kernel
// tap (r, s), 0 in the padding.
func (c *convPlan) im2colRow(dst, plane []float32, r, s int) {
	off := s*c.DilationW - c.PadW
	lo, hi := span(off, c.StrideW, c.W, c.ow)
	if c.StrideH == 1 && c.StrideW == 1 && c.W == c.ow {
		c.im2colRowSame(dst, plane, r, off, lo, hi)
		return
	}
	for oh := 0; oh < c.oh; oh++ {
		d := dst[oh*c.ow : (oh+1)*c.ow]
		ih := oh*c.StrideH - c.PadH + r*c.DilationH
		if ih < 0 || ih >= c.H {
			clear(d)
			continue
		}
		src := plane[ih*c.W : (ih+1)*c.W]
		clear(d[:lo])
		clear(d[hi:])
		if c.StrideW == 1 {
			if lo < hi { // else lo+off may be negative: the tap is all padding
				copy(d[lo:hi], src[lo+off:hi+off])
			}
			continue
		}
		for ow := lo; ow < hi; ow++ {
			d[ow] = src[ow*c.StrideW+off]
		}
	}
}

// im2colRowSame is im2colRow for stride 1 and an output as wide as the
// input (a "same" padding): output pixel q of the valid rows is input pixel
// q + shift for one shift, so the rows are copied at once and the columns
// whose tap falls in the padding zeroed after.
func (c *convPlan) im2colRowSame(dst, plane []float32, r, off, lo, hi int) {
	d := r*c.DilationH - c.PadH // ih − oh
	oh0, oh1 := max(0, -d), min(c.oh, c.H-d)
	if oh0 >= oh1 || lo >= hi {
		clear(dst)
		return
	}
	ow := c.ow
	clear(dst[:oh0*ow])
	clear(dst[oh1*ow:])
	shift := d*c.W + off
	first, last := oh0*ow+lo, (oh1-1)*ow+hi
	copy(dst[first:last], plane[first+shift:last+shift])
	// The padded columns are few (one each side for a 3×3 kernel): zero
	// them in place rather than call memclr twice per row.
	for oh := oh0; oh < oh1; oh++ {
		row := dst[oh*ow : (oh+1)*ow]
		for j := 0; j < lo; j++ {
			row[j] = 0
		}
		for j := hi; j < len(row); j++ {
			row[j] = 0
		}
	}
}

// col2im adds the column matrix dcol (CRS, nb·L) of group g into dx.
// Channels are independent, so they are split across threads; within a
// channel the taps are added in a fixed order.
func (c *convPlan) col2im(dx, dcol []float32, n0, nb, g int) {
	cols := nb * c.l
	hw := c.H * c.W
	rs := c.R * c.S
	axpy := elt().axpy
	ParallelFor(c.cg, max(1, grainArith/2/(rs*cols)), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for i := 0; i < nb; i++ {
				plane := dx[((n0+i)*c.C+g*c.cg+ch)*hw:][:hw]
				for t := 0; t < rs; t++ {
					row := ch*rs + t
					c.col2imRow(axpy, plane, dcol[row*cols+i*c.l:][:c.l], t/c.S, t%c.S)
				}
			}
		}
	})
}

// col2imRow adds src (OH·OW), the gradient of tap (r, s), into plane.
func (c *convPlan) col2imRow(axpy func(alpha float32, x, y []float32), plane, src []float32, r, s int) {
	off := s*c.DilationW - c.PadW
	lo, hi := span(off, c.StrideW, c.W, c.ow)
	if c.StrideH == 1 && c.StrideW == 1 {
		// Output rows [oh0, oh1) land on input rows oh+d: one call adds
		// them all, each element as the loop below would.
		d := r*c.DilationH - c.PadH
		oh0, oh1 := max(0, -d), min(c.oh, c.H-d)
		if oh0 < oh1 && lo < hi {
			addRows(plane[(oh0+d)*c.W+lo+off:], c.W, src[oh0*c.ow+lo:], c.ow, oh1-oh0, hi-lo)
		}
		return
	}
	for oh := 0; oh < c.oh; oh++ {
		ih := oh*c.StrideH - c.PadH + r*c.DilationH
		if ih < 0 || ih >= c.H {
			continue
		}
		d := plane[ih*c.W : (ih+1)*c.W]
		sr := src[oh*c.ow : (oh+1)*c.ow]
		if c.StrideW == 1 {
			if lo < hi { // else lo+off may be negative: the tap is all padding
				axpy(1, sr[lo:hi], d[lo+off:hi+off])
			}
			continue
		}
		for ow := lo; ow < hi; ow++ {
			d[ow*c.StrideW+off] += sr[ow]
		}
	}
}

// gather returns group g of dy for images n0..n0+nb-1 as a (K/G, nb·L)
// matrix: dy itself for one image, else a copy in tmp.
func (c *convPlan) gather(tmp, dy []float32, n0, nb, g int) []float32 {
	if nb == 1 {
		return dy[(n0*c.K+g*c.kg)*c.l : (n0*c.K+(g+1)*c.kg)*c.l]
	}
	cols := nb * c.l
	tmp = tmp[:c.kg*cols]
	ParallelFor(c.kg, max(1, grainArith/cols), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			for i := 0; i < nb; i++ {
				copy(tmp[k*cols+i*c.l:][:c.l], dy[((n0+i)*c.K+g*c.kg+k)*c.l:][:c.l])
			}
		}
	})
	return tmp
}

// scatter copies the (K/G, nb·L) GEMM result tmp of group g to dst (NCHW)
// and applies the epilogue ep to each row it copies, while it is in cache.
func (c *convPlan) scatter(dst, tmp []float32, n0, nb, g int, ep ConvEpilogue) {
	cols := nb * c.l
	eps := make([]Epilogue, nb)
	for i := range eps {
		eps[i] = c.epilogue(ep, n0+i, g)
	}
	ParallelFor(c.kg, max(1, grainArith/cols), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			for i := 0; i < nb; i++ {
				y := dst[((n0+i)*c.K+g*c.kg)*c.l : ((n0+i)*c.K+(g+1)*c.kg)*c.l]
				copy(y[k*c.l:][:c.l], tmp[k*cols+i*c.l:][:c.l])
				eps[i].apply(y, c.l, k, k+1, 0, c.l)
			}
		}
	})
}
