package kernels

import (
	"fmt"
	"sync"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X, or Xᵀ when the matching trans flag is set. op(A) is m×k, op(B)
// is k×n and C is m×n; lda, ldb and ldc are the row strides of A, B and C as
// stored. When beta is zero C is not read, so NaN in C does not propagate;
// when alpha is zero A and B are not read.
//
// Sgemm splits C among up to Threads() threads and never splits the sum over
// k, so its result is bit-identical run to run and for any thread count.
//
// Sgemm panics with a message naming the bad argument when a dimension or
// stride is negative or too small, a slice is too short, or C overlaps A or B.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kern := kernelFor(current)
	j := sgemmJob{
		kern: kern, blk: blockingFor(kern),
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	j.run()
}

// PackedB is a k×n matrix B packed once into the layout the SGEMM kernels
// read, for products with many different A: the weights of a layer, say.
// Build it with PackB and use it with SgemmPacked. The layout, strips of 32
// columns with zeros past column n, serves every ISA, so a PackedB stays
// valid after Use. A PackedB is read-only and safe for concurrent use.
type PackedB struct {
	k, n int
	data []float32 // ceil(n/32) strips of k rows × 32 floats
}

// K returns the number of rows of the packed matrix.
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of the packed matrix.
func (p *PackedB) N() int { return p.n }

// PackB packs op(B), the k×n matrix B (or Bᵀ when transB is set) stored
// row-major with row stride ldb, for SgemmPacked. It panics on bad
// arguments, like Sgemm.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: PackB: negative dimension k=%d n=%d", k, n))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("PackB", "B", br, bc, b, ldb)
	p := &PackedB{k: k, n: n}
	p.data = alignedFloats(&p.data, packedLen(k, n))
	p.pack(transB, b, ldb)
	return p
}

// packedLen returns the number of floats PackB's layout takes for a k×n
// matrix: k·n when n is a multiple of 32, more otherwise.
func packedLen(k, n int) int {
	return (n + stripWidth - 1) / stripWidth * stripWidth * k
}

// PackBInPlace packs B = wᵀ for SgemmPacked, where w[:n*k] is an n×k
// row-major matrix (a Linear layer's (out, in) weight), into w's own
// storage: PackB(true, k, n, w, k) without new memory beyond a few rows of
// scratch. n must be a multiple of 32, so that the packed matrix takes
// exactly n·k floats. Until UnpackInPlace, w holds the packed layout, not
// the matrix. It panics on a bad dimension or a short w.
func PackBInPlace(w []float32, n, k int) *PackedB {
	const sw = stripWidth
	if n < 0 || k < 0 || n%sw != 0 {
		panic(fmt.Sprintf("kernels: PackBInPlace: %d×%d matrix: want non-negative dimensions and rows a multiple of %d", n, k, sw))
	}
	if len(w) < n*k {
		panic(fmt.Sprintf("kernels: PackBInPlace: %d floats for a %d×%d matrix", len(w), n, k))
	}
	p := &PackedB{k: k, n: n, data: w[: n*k : n*k]}
	p.eachStrip(func(strip, rows []float32) {
		copy(rows, strip)
		packStripB(strip, packAsm(current), true, rows, k, 0, k, 0, sw)
	})
	return p
}

// UnpackInPlace undoes PackBInPlace: the storage holds the n×k matrix w
// again, bit for bit, and p must not be used any more.
func (p *PackedB) UnpackInPlace() {
	const sw = stripWidth
	k := p.k
	p.eachStrip(func(strip, packed []float32) {
		copy(packed, strip)
		for j := range sw {
			row := strip[j*k:][:k]
			for q := range row {
				row[q] = packed[q*sw+j]
			}
		}
	})
	p.data = nil
}

// eachStrip calls fn, on up to Threads() threads, with each 32-column
// strip of p's data and a scratch buffer of its size.
func (p *PackedB) eachStrip(fn func(strip, scratch []float32)) {
	size := stripWidth * p.k
	if size == 0 {
		return
	}
	ParallelFor(p.n/stripWidth, 4, func(lo, hi int) {
		buf, _ := stripScratch.Get().(*[]float32)
		if buf == nil || cap(*buf) < size {
			buf = new([]float32)
			*buf = make([]float32, size)
		}
		scratch := (*buf)[:size]
		for s := lo; s < hi; s++ {
			fn(p.data[s*size:][:size], scratch)
		}
		stripScratch.Put(buf)
	})
}

// stripScratch holds the scratch buffers of eachStrip (*[]float32), so
// that packing a model's layers one after the other reuses a few.
var stripScratch sync.Pool

// pack fills p.data, laid out for p.k and p.n, from op(B).
func (p *PackedB) pack(transB bool, b []float32, ldb int) {
	k, n := p.k, p.n
	strips := (n + stripWidth - 1) / stripWidth
	if k == 0 {
		return
	}
	ParallelFor(strips, 4, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			c0 := s * stripWidth
			packStripB(p.data[s*k*stripWidth:], packAsm(current), transB, b, ldb, 0, k, c0, min(stripWidth, n-c0))
		}
	})
}

// SgemmPacked computes C = alpha*op(A)*B + beta*C like Sgemm, with B the
// k×n matrix packed in pb: op(A) is m×k and C is m×n.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	sgemmPacked("SgemmPacked", transA, m, alpha, a, lda, pb, beta, c, ldc, Epilogue{})
}

func sgemmPacked(op string, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, ep Epilogue) {
	if pb == nil {
		panic("kernels: " + op + ": nil PackedB")
	}
	if m < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension m=%d", op, m))
	}
	n, k := pb.n, pb.k
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMatrix(op, "A", ar, ac, a, lda)
	checkMatrix(op, "C", m, n, c, ldc)
	if overlaps(c, m, n, ldc, a, ar, ac, lda) {
		panic("kernels: " + op + ": C overlaps A")
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		ep.apply(c, ldc, 0, m, 0, n)
		return
	}
	kern := kernelFor(current)
	j := sgemmJob{
		kern: kern, blk: blockingFor(kern),
		transA: transA, m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, packed: pb, c: c, ldc: ldc,
		ep: ep,
	}
	j.run()
}

func checkSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("Sgemm", "A", ar, ac, a, lda)
	checkMatrix("Sgemm", "B", br, bc, b, ldb)
	checkMatrix("Sgemm", "C", m, n, c, ldc)
	if overlaps(c, m, n, ldc, a, ar, ac, lda) {
		panic("kernels: Sgemm: C overlaps A")
	}
	if overlaps(c, m, n, ldc, b, br, bc, ldb) {
		panic("kernels: Sgemm: C overlaps B")
	}
}

// checkMatrix panics unless x holds a rows×cols row-major matrix with row stride ld.
func checkMatrix(op, name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: ld%s=%d < max(1, %d)", op, name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("kernels: %s: len(%s)=%d, need %d for %d×%d with stride %d", op, name, len(x), need, rows, cols, ld))
	}
}
