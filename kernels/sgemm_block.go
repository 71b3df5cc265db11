package kernels

import (
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// The blocked SGEMM driver, after Goto and BLIS, with the loops in this order:
//
//	for each thread's part of C (rows × strip-aligned columns):
//	  for ic: MC rows of A                    (Ã block, L3)
//	    for pc: KC steps of k
//	      pack Ã = op(A)[ic:ic+mc, pc:pc+kc] in micro-panels
//	      for jc: NC columns of B
//	        B̃ = op(B)[pc:pc+kc, jc:jc+nc]     (packed, pre-packed or in place; L2)
//	        for ir: each micro-panel of Ã     (mr×kc, L1)
//	          for jr: each nr-column slice of B̃
//	            micro-kernel on C[ir, jr]
//
// A is packed once per part and B once per part and MC rows, so with MC
// large every element is copied at most once per thread. Each micro-panel of
// Ã stays in L1 while the kernel sweeps the B̃ block out of L2.
//
// The row panels of a part have balanced heights (m=50 with 12-row kernels
// runs five 10-row panels rather than four 12-row ones and a 2-row one); the
// kernels for every height 1…mr exist, so nothing is padded. C accumulates
// in place across the KC blocks: the first block applies beta, the others
// add to C. The k loop is never split across threads, and every element of C
// sees the same sequence of operations whatever the partition, so results
// are bit-identical for any thread count.

// Blocking holds the cache-blocking sizes of the SGEMM driver.
type Blocking struct {
	// KC is the depth of a packed block: an mr×KC micro-panel of A should
	// fit in L1 beside the B rows streaming through.
	KC int
	// NC is the number of columns of a packed B block, a multiple of 32:
	// the KC×NC block should stay in L2.
	NC int
	// MC is the number of rows of A packed at once; the MC×KC block lives
	// in L3.
	MC int
	// SupM is the largest m for which Sgemm reads a non-transposed B where
	// it lies instead of packing it: packing costs one copy of B, which few
	// rows cannot pay back.
	SupM int
}

var (
	blockingMu sync.Mutex
	blocking   = defaultBlocking()
)

// defaultBlocking derives the blocking from the cache sizes cpuid reports,
// falling back to Zen 4's (L1d 32 KiB, L2 1 MiB, L3 32 MiB).
func defaultBlocking() Blocking {
	l2, l3 := cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3
	if l2 <= 0 {
		l2 = 1 << 20
	}
	if l3 <= 0 {
		l3 = 32 << 20
	}
	const kc = 256
	return Blocking{
		KC:   kc,
		NC:   clamp(l2/2/(kc*4)/stripWidth*stripWidth, 128, 4096),
		MC:   clamp(l3/4/(kc*4), 96, 8192),
		SupM: 256,
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// SgemmBlocking returns the blocking sizes Sgemm uses.
func SgemmBlocking() Blocking {
	blockingMu.Lock()
	defer blockingMu.Unlock()
	return blocking
}

// SetSgemmBlocking makes Sgemm use the blocking sizes b and returns the
// previous ones. A zero field keeps its default; NC is rounded up to a
// multiple of 32. It is meant for benchmarks that sweep the sizes and must
// not be called while kernels are running.
func SetSgemmBlocking(b Blocking) (prev Blocking) {
	d := defaultBlocking()
	if b.KC <= 0 {
		b.KC = d.KC
	}
	if b.NC <= 0 {
		b.NC = d.NC
	}
	b.NC = (b.NC + stripWidth - 1) / stripWidth * stripWidth
	if b.MC <= 0 {
		b.MC = d.MC
	}
	if b.SupM < 0 {
		b.SupM = d.SupM
	}
	blockingMu.Lock()
	defer blockingMu.Unlock()
	prev, blocking = blocking, b
	return prev
}

// sgemmJob is one C = alpha*op(A)*op(B) + beta*C, checked and non-trivial
// (m, n, k > 0, alpha != 0).
type sgemmJob struct {
	kern           *sgemmKernel
	blk            Blocking
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	packed         *PackedB // when not nil, B comes from here
	inPlaceB       bool     // read op(B) = B where it lies
	c              []float32
	ldc            int
}

// sgemmBuf holds one thread's packing buffers.
type sgemmBuf struct {
	a, b, tail []float32
}

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// parallelMinWork is the least m*n*k worth handing to the worker pool.
const parallelMinWork = 64 * 64 * 64

// run splits C among the threads and computes every part.
func (j *sgemmJob) run() {
	tm, tn := j.split(Threads())
	strips := (j.n + stripWidth - 1) / stripWidth
	part := func(p int, buf *sgemmBuf) {
		pi, pj := p/tn, p%tn
		m0, m1 := pi*j.m/tm, (pi+1)*j.m/tm
		n0, n1 := pj*strips/tn*stripWidth, min(j.n, (pj+1)*strips/tn*stripWidth)
		j.part(m0, m1, n0, n1, buf)
	}
	if tm*tn == 1 {
		buf := sgemmBufs.Get().(*sgemmBuf)
		part(0, buf)
		sgemmBufs.Put(buf)
		return
	}
	ParallelFor(tm*tn, 1, func(lo, hi int) {
		buf := sgemmBufs.Get().(*sgemmBuf)
		defer sgemmBufs.Put(buf)
		for p := lo; p < hi; p++ {
			part(p, buf)
		}
	})
}

// split chooses a grid of tm×tn parts for t threads: the factorization
// whose largest part costs least, counting the FMAs (16 per cycle) and the
// copies into packed buffers (about one per cycle). Splitting the columns
// makes every part pack all of its rows of A, splitting the rows makes
// every part pack or read all of its columns of B, so wide problems split
// N and tall ones M.
func (j *sgemmJob) split(t int) (tm, tn int) {
	if t <= 1 || j.m*j.n*j.k < parallelMinWork {
		return 1, 1
	}
	panels := (j.m + j.kern.mr - 1) / j.kern.mr
	strips := (j.n + stripWidth - 1) / stripWidth
	bCopy := 1.0
	if j.packed != nil || j.inPlaceB {
		bCopy = 0.25 // read, not copied
	}
	best := -1.0
	tm, tn = 1, 1
	for ; t >= 1 && best < 0; t-- {
		for fm := 1; fm <= t; fm++ {
			fn := t / fm
			if fm*fn != t || fm > panels || fn > strips {
				continue
			}
			rows := float64((panels+fm-1)/fm) * float64(j.kern.mr)
			cols := float64((strips+fn-1)/fn) * stripWidth
			k := float64(j.k)
			cost := rows*cols*k/16 + rows*k + cols*k*bCopy
			if best < 0 || cost < best {
				best, tm, tn = cost, fm, fn
			}
		}
	}
	return tm, tn
}

// panelStart returns the first row of panel q of np balanced panels over
// rows [m0, m0+rows).
func panelStart(m0, rows, np, q int) int { return m0 + q*rows/np }

// part computes C[m0:m1, n0:n1]; n0 is a multiple of stripWidth.
func (j *sgemmJob) part(m0, m1, n0, n1 int, buf *sgemmBuf) {
	kern, blk := j.kern, j.blk
	rows := m1 - m0
	if rows <= 0 || n1 <= n0 {
		return
	}
	np := (rows + kern.mr - 1) / kern.mr
	perBlock := max(1, blk.MC/kern.mr)
	for q0 := 0; q0 < np; q0 += perBlock {
		q1 := min(np, q0+perBlock)
		r0, r1 := panelStart(m0, rows, np, q0), panelStart(m0, rows, np, q1)
		for pc := 0; pc < j.k; pc += blk.KC {
			kc := min(blk.KC, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			ap := alignedFloats(&buf.a, (r1-r0)*kc)
			for q := q0; q < q1; q++ {
				r, h := panelStart(m0, rows, np, q), panelStart(m0, rows, np, q+1)
				packPanelA(ap[(r-r0)*kc:], j.transA, j.a, j.lda, r, h-r, pc, kc)
			}
			for jc := n0; jc < n1; jc += blk.NC {
				nc := min(blk.NC, n1-jc)
				bb := j.blockB(buf, pc, kc, jc, nc)
				for q := q0; q < q1; q++ {
					r, h := panelStart(m0, rows, np, q), panelStart(m0, rows, np, q+1)-panelStart(m0, rows, np, q)
					apan := ap[(r-r0)*kc : (r-r0+h)*kc]
					for s := 0; s*stripWidth < nc; s++ {
						bs, ld := bb.strip(s)
						for jj := 0; jj < stripWidth && s*stripWidth+jj < nc; jj += kern.nr {
							col := jc + s*stripWidth + jj
							nr := min(kern.nr, jc+nc-col)
							kern.tile(kc, apan, bs[jj:], ld, j.c[r*j.ldc+col:], j.ldc, j.alpha, beta, h, nr)
						}
					}
				}
			}
		}
	}
}

// bBlock locates the strips of one KC×NC block of op(B).
type bBlock struct {
	data   []float32
	off    int // start of strip 0
	stride int // distance between strips
	ld     int // row stride within a strip
	tail   []float32
	tailS  int // strip read from tail (packed, row stride stripWidth), or -1
}

func (bb *bBlock) strip(s int) ([]float32, int) {
	if s == bb.tailS {
		return bb.tail, stripWidth
	}
	return bb.data[bb.off+s*bb.stride:], bb.ld
}

// blockB returns rows [pc, pc+kc) and columns [jc, jc+nc) of op(B), packing
// them into buf unless B is pre-packed or read in place.
func (j *sgemmJob) blockB(buf *sgemmBuf, pc, kc, jc, nc int) bBlock {
	const sw = stripWidth
	switch {
	case j.packed != nil:
		return bBlock{data: j.packed.data, off: jc*j.k + pc*sw, stride: j.k * sw, ld: sw, tailS: -1}
	case j.inPlaceB:
		bb := bBlock{data: j.b, off: pc*j.ldb + jc, stride: sw, ld: j.ldb, tailS: -1}
		if nc%sw != 0 {
			// The kernels read whole strips: copy the partial last one.
			bb.tailS = nc / sw
			bb.tail = alignedFloats(&buf.tail, kc*sw)
			packStripB(bb.tail, false, j.b, j.ldb, pc, kc, jc+bb.tailS*sw, nc%sw)
		}
		return bb
	default:
		bp := alignedFloats(&buf.b, (nc+sw-1)/sw*kc*sw)
		packBlockB(bp, j.transB, j.b, j.ldb, pc, kc, jc, nc)
		return bBlock{data: bp, stride: kc * sw, ld: sw, tailS: -1}
	}
}

// scaleC computes C = beta*C on an m×n matrix, writing zeros when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
			continue
		}
		for j := range ci {
			ci[j] *= beta
		}
	}
}
