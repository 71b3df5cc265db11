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
	// SmallM is the largest number of rows (per thread) for which the
	// driver takes op(B) one strip at a time, packing each strip just
	// before all row panels use it, instead of packing KC×NC blocks.
	SmallM int
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
		KC:     kc,
		NC:     clamp(l2/2/(kc*4)/stripWidth*stripWidth, 128, 4096),
		MC:     clamp(l3/4/(kc*4), 96, 8192),
		SmallM: 96,
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
// previous ones. A zero KC, NC or MC, or a negative SmallM, keeps its default; NC is rounded up to a
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
	if b.SmallM < 0 {
		b.SmallM = d.SmallM
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
	c              []float32
	ldc            int
}

// sgemmBuf holds one thread's packing buffers.
type sgemmBuf struct {
	a, b []float32
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
	if j.packed != nil {
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
	fast := packAsm(kern.isa)
	perBlock := max(1, blk.MC/kern.mr)
	panel := func(q int) (r, h int) {
		r = m0 + q*rows/np
		return r, m0 + (q+1)*rows/np - r
	}
	for q0 := 0; q0 < np; q0 += perBlock {
		q1 := min(np, q0+perBlock)
		r0, _ := panel(q0)
		r1, _ := panel(q1)
		for pc := 0; pc < j.k; pc += blk.KC {
			kc := min(blk.KC, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			ap := alignedFloats(&buf.a, (r1-r0)*kc+16) // the packers' slack
			for q := q0; q < q1; q++ {
				r, h := panel(q)
				packPanelA(ap[(r-r0)*kc:], fast, j.transA, j.a, j.lda, r, h, pc, kc)
			}
			// tiles runs the kernel on the row panels [qa, qb) of the block
			// against strip s of op(B) (columns [col0, col0+w)).
			tiles := func(qa, qb int, bs []float32, ld, col0, w int) {
				for q := qa; q < qb; q++ {
					r, h := panel(q)
					apan := ap[(r-r0)*kc : (r-r0+h)*kc]
					for jj := 0; jj < w; jj += kern.nr {
						kern.tile(kc, apan, bs[jj:], ld, j.c[r*j.ldc+col0+jj:], j.ldc, j.alpha, beta, h, min(kern.nr, w-jj))
					}
				}
			}
			if rows <= blk.SmallM {
				// Few rows: take op(B) one strip at a time, packed (unless
				// pre-packed) into a buffer that stays in L1/L2 while every
				// row panel uses it.
				for col := n0; col < n1; col += stripWidth {
					w := min(stripWidth, n1-col)
					bs, ld := j.strip(buf, pc, kc, col, w)
					tiles(q0, q1, bs, ld, col, w)
				}
				continue
			}
			for jc := n0; jc < n1; jc += blk.NC {
				nc := min(blk.NC, n1-jc)
				bd, off, stride := j.blockB(buf, pc, kc, jc, nc)
				for q := q0; q < q1; q++ {
					for s := 0; s*stripWidth < nc; s++ {
						tiles(q, q+1, bd[off+s*stride:], stripWidth, jc+s*stripWidth, min(stripWidth, nc-s*stripWidth))
					}
				}
			}
		}
	}
}

// strip returns rows [pc, pc+kc) and columns [col, col+w) of op(B) as one
// strip, and its row stride.
func (j *sgemmJob) strip(buf *sgemmBuf, pc, kc, col, w int) ([]float32, int) {
	if j.packed != nil {
		return j.packed.data[col*j.k+pc*stripWidth:], stripWidth
	}
	bs := alignedFloats(&buf.b, kc*stripWidth)
	packStripB(bs, packAsm(j.kern.isa), j.transB, j.b, j.ldb, pc, kc, col, w)
	return bs, stripWidth
}

// blockB returns rows [pc, pc+kc) and columns [jc, jc+nc) of op(B) as
// strips, strip s starting at data[off+s*stride] with row stride
// stripWidth, packing them into buf unless B is pre-packed.
func (j *sgemmJob) blockB(buf *sgemmBuf, pc, kc, jc, nc int) (data []float32, off, stride int) {
	if j.packed != nil {
		return j.packed.data, jc*j.k + pc*stripWidth, j.k * stripWidth
	}
	bp := alignedFloats(&buf.b, (nc+stripWidth-1)/stripWidth*kc*stripWidth)
	packBlockB(bp, packAsm(j.kern.isa), j.transB, j.b, j.ldb, pc, kc, jc, nc)
	return bp, 0, kc * stripWidth
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
