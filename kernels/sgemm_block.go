package kernels

import (
	"sync"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// The blocked SGEMM driver, after Goto and BLIS, with the loops in this order:
//
//	for each thread's part of C (rows × strip-aligned columns):
//	  for ic: MC rows of A
//	    for pc: KC steps of k
//	      pack Ã = op(A)[ic:ic+mc, pc:pc+kc] in row panels   (L2)
//	        (unless pre-packed: packedA)
//	      for jc: each 32-column strip of op(B)
//	        pack the kc×32 strip (unless pre-packed)
//	        for jr: each nr-column slice of the strip         (L1)
//	          for ir: each row panel of Ã
//	            micro-kernel on C[ir, jr], prefetching the next strip of B
//
// Each element of A and B is packed once per part and MC rows. The kc×nr
// slice of B stays in L1 while the row panels of Ã stream through it; the
// kernels spread the prefetch of the next strip of B over the calls on this
// one, which hides the memory latency that a strip read for the first time
// would cost. On Zen 3 this order measured as fast as or faster than
// packing KC×NC blocks of B and sweeping them from L2 for every row panel,
// at every shape tried (m = 50 … 1576, square 512 … 1024).
//
// The row panels of a part have balanced heights (m=50 with 12-row kernels
// runs five 10-row panels rather than four 12-row ones and a 2-row one); the
// kernels for every height 1…mr exist, so nothing is padded. C accumulates
// in place across the KC blocks: the first block applies beta, the others
// add to C. Every micro-kernel, assembly or Go, computes an element of C the
// same way: one chain of fused multiply-adds over the block's k from zero,
// a product with alpha, and a fused multiply-add of beta*C onto it. The k
// loop is never split across threads and KC does not depend on the machine,
// so every element of C sees the same sequence of operations whatever the
// ISA, partition or thread count, and the results are bit-identical. That leaves the partition free:
// large products split by columns or by rows balance the work among the
// threads as they run (stripQueue, rowQueue), which keeps a slower core
// from holding the others up.

// Blocking holds the cache-blocking sizes of the SGEMM driver. A zero field
// means the default.
type Blocking struct {
	// KC is the depth of a packed block: the kc×nr slice of a B strip
	// should stay in L1 beside the A panel streaming through. C adds up
	// the products of one block at a time, so KC fixes the order of the
	// additions that make each element of C: the default, DefaultKC, is the
	// same on every machine, ISA and thread count, and so are the results.
	// Another KC gives other (equally accurate) bits.
	KC int
	// MC is the most rows of A packed at once; it does not change the
	// results. Default: the rows whose KC-deep block fills half of L2 (512
	// on a core with 1 MiB). Each KC block of k adds into the block's rows
	// of C across all its columns, so these rows of C should stay in the
	// caches from one KC block to the next: on a Zen 5 core, one block of
	// all 1576 rows of a 1576×3072×768 product (19 MB of C) ran at 194
	// GFLOP/s, blocks of 512 rows at 201; 2048³ went from 187 to 204.
	MC int
}

// DefaultKC is the KC of every product unless SetSgemmBlocking sets
// another. It was the AVX-512 kernel's KC when the cache sizes chose it
// (AVX2's was 384), and it divides the depths of ViT-B's products (768,
// 3072).
const DefaultKC = 256

var (
	blockingMu sync.Mutex
	blocking   Blocking // overrides set by SetSgemmBlocking
)

// l2Size returns the per-core L2 size cpuid reports, or Zen 4's and Zen
// 5's 1 MiB where it reports none.
func l2Size() int {
	if l2 := cpuid.CPU.Cache.L2; l2 > 0 {
		return l2
	}
	return 1 << 20
}

// blockingFor returns the blocking the driver uses with kern: the
// overrides, and the defaults for the zero fields.
func blockingFor(kern *sgemmKernel) Blocking {
	blockingMu.Lock()
	b := blocking
	blockingMu.Unlock()
	if b.KC <= 0 {
		b.KC = DefaultKC
	}
	if b.MC <= 0 {
		b.MC = clamp(l2Size()/2/(b.KC*4), 4*kern.mr, 8192)
	}
	return b
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// perBlockOf returns the most row panels of kern in one block of MC rows.
func perBlockOf(blk Blocking, kern *sgemmKernel) int { return max(1, blk.MC/kern.mr) }

// SgemmBlocking returns the blocking sizes Sgemm uses with the current ISA.
func SgemmBlocking() Blocking { return blockingFor(kernelFor(current)) }

// SetSgemmBlocking makes Sgemm use the blocking sizes b, a zero field
// meaning the default, and returns the previous setting. It is meant for
// benchmarks that sweep the sizes and must not be called while kernels are
// running.
func SetSgemmBlocking(b Blocking) (prev Blocking) {
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
	pa             *packedA // when not nil, A comes from here
	b              []float32
	ldb            int
	packed         *PackedB    // when not nil, B comes from here
	src            stripSource // or, when not nil, from here
	ep             Epilogue    // applied to a few strips of C at a time, after their last KC block
	c              []float32
	ldc            int
}

// sgemmBuf holds one thread's packing buffers.
type sgemmBuf struct {
	a, b   []float32
	starts []int        // the first row of each panel of a part, and its end
	blocks [2][]float32 // a rowQueue's blocks of A, by the parity of the round
}

// panelStarts returns buf.starts with length n, reusing its storage.
func (buf *sgemmBuf) panelStarts(n int) []int {
	if cap(buf.starts) < n {
		buf.starts = make([]int, n)
	}
	return buf.starts[:n]
}

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// parallelMinWork is the least m*n*k worth handing to the worker pool.
const parallelMinWork = 64 * 64 * 64

// run splits C among the threads and computes every part. A large product
// split by columns alone or by rows alone balances its parts as they run
// (stripQueue, rowQueue), so a thread that runs slower, as a shared
// machine's cores often do, does less instead of holding the others up.
//
// Called from inside a ParallelFor chunk (the heads of an attention, say),
// it computes C as one part: the parts would run one after another on
// this goroutine anyway, each packing its own copy of A or B.
func (j *sgemmJob) run() {
	tm, tn := j.split(freeThreads())
	if tm*tn == 1 {
		buf := sgemmBufs.Get().(*sgemmBuf)
		j.part(0, j.m, 0, j.n, nil, 0, buf)
		sgemmBufs.Put(buf)
		return
	}
	var queue *stripQueue
	var rows *rowQueue
	switch {
	case !stripQueues || j.m*j.n*j.k < queueMinWork:
	case tm == 1:
		queue = j.newStripQueue(tn)
	case tn == 1:
		if rows = j.newRowQueue(tm); rows == nil {
			// The shares are taller than a block of MC rows, which a
			// rowQueue does not handle: balance strips of columns
			// instead, every thread packing A for itself.
			tm, tn = 1, tm
			queue = j.newStripQueue(tn)
		}
	}
	strips := (j.n + stripWidth - 1) / stripWidth
	ParallelFor(tm*tn, 1, func(lo, hi int) {
		buf := sgemmBufs.Get().(*sgemmBuf)
		defer sgemmBufs.Put(buf)
		for p := lo; p < hi; p++ {
			if rows != nil {
				j.partRows(rows, p, buf)
				continue
			}
			if queue != nil {
				j.part(0, j.m, 0, j.n, queue, p, buf)
				continue
			}
			pi, pj := p/tn, p%tn
			m0, m1 := j.rowSplit(pi, tm), j.rowSplit(pi+1, tm)
			n0, n1 := pj*strips/tn*stripWidth, min(j.n, (pj+1)*strips/tn*stripWidth)
			j.part(m0, m1, n0, n1, nil, 0, buf)
		}
	})
}

// queueMinWork is the least m*n*k that a split balances through a
// stripQueue or rowQueue. Below it a static split costs less than the queue's
// allocation, atomics and waits, and smaller products are the ones a
// network runs from inside a ParallelFor (one per attention head), where
// the chunks run one after another anyway.
var queueMinWork = 1 << 24

// stripQueues turns both queues off when false; tests set it, and
// queueMinWork, to run both kinds of split.
var stripQueues = true

// stripQueue hands out the column strips of C to the threads that share
// all of its rows. The work comes in rounds, one per block of MC rows and
// KC steps of k in the order the driver takes them; every thread packs the
// round's block of A for itself, as with a static split of the columns.
// In each round a thread takes the strips of its own share from the front,
// in order, and when its share is gone takes strips from the back of the
// others', so a thread that runs slower, as one core of a shared machine
// often does, hands its last strips to the others instead of holding them
// up. A strip must have finished round r-1, on whichever thread, before
// round r may add to it, so C sees the blocks in the same order as with one
// thread: the results are those of any other split, bit for bit.
type stripQueue struct {
	threads int
	shares  []stripRange   // per round and thread, the strips left
	done    []atomic.Int32 // per strip, the rounds it has finished
}

func (j *sgemmJob) newStripQueue(threads int) *stripQueue {
	panels := (j.m + j.kern.mr - 1) / j.kern.mr
	perBlock := perBlockOf(j.blk, j.kern)
	rounds := (panels + perBlock - 1) / perBlock * ((j.k + j.blk.KC - 1) / j.blk.KC)
	strips := (j.n + stripWidth - 1) / stripWidth
	q := &stripQueue{
		threads: threads,
		shares:  make([]stripRange, rounds*threads),
		done:    make([]atomic.Int32, strips),
	}
	for i := range q.shares {
		t := i % threads
		q.shares[i].set(t*strips/threads, (t+1)*strips/threads)
	}
	return q
}

// claim returns a strip of round r for thread t and whether it is from
// t's own share, or -1 when round r has none left.
func (q *stripQueue) claim(r, t int) (s int, own bool) {
	if s := q.shares[r*q.threads+t].take(true); s >= 0 {
		return s, true
	}
	for i := 1; i < q.threads; i++ {
		if s := q.shares[r*q.threads+(t+i)%q.threads].take(false); s >= 0 {
			return s, false
		}
	}
	return -1, false
}

// stripRange is a range of strips [lo, hi) that threads take from at
// either end, held in one word as lo<<32 | hi.
type stripRange struct{ v atomic.Uint64 }

func (sr *stripRange) set(lo, hi int) { sr.v.Store(uint64(lo)<<32 | uint64(hi)) }

// take removes the strip at the front or the back of the range and returns
// it, or returns -1 when the range is empty.
func (sr *stripRange) take(front bool) int {
	for {
		v := sr.v.Load()
		lo, hi := uint32(v>>32), uint32(v)
		if lo >= hi {
			return -1
		}
		s, w := lo, uint64(lo+1)<<32|uint64(hi)
		if !front {
			s, w = hi-1, uint64(lo)<<32|uint64(hi-1)
		}
		if sr.v.CompareAndSwap(v, w) {
			return int(s)
		}
	}
}

// await returns once strip s has finished the rounds before r.
func (q *stripQueue) await(s, r int) { awaitCount(&q.done[s], r) }

// awaitCount returns once the count at d has reached n.
func awaitCount(d *atomic.Int32, n int) {
	for d.Load() < int32(n) {
		spinUntil(func() bool { return d.Load() >= int32(n) })
	}
}

// finish records that strip s has finished one more round.
func (q *stripQueue) finish(s int) { q.done[s].Add(1) }

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
	aCopy, bCopy := 1.0, 1.0
	if j.pa != nil {
		aCopy = 0.25 // read, not copied
	}
	if j.packed != nil {
		bCopy = 0.25
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
			cost := rows*cols*k/16 + rows*k*aCopy + cols*k*bCopy
			if best < 0 || cost < best {
				best, tm, tn = cost, fm, fn
			}
		}
	}
	return tm, tn
}

// part computes C[m0:m1, n0:n1]; n0 is a multiple of stripWidth. With a
// queue, it computes the strips of C[m0:m1, :] that the queue hands thread t.
func (j *sgemmJob) part(m0, m1, n0, n1 int, queue *stripQueue, t int, buf *sgemmBuf) {
	kern, blk := j.kern, j.blk
	rows := m1 - m0
	if rows <= 0 || n1 <= n0 {
		return
	}
	fast := packAsm(kern.isa)
	// Panel q holds rows [start[q], start[q+1]): computed once, not per tile.
	start := j.panelStarts(buf, m0, m1)
	np := len(start) - 1
	// Blocks of at most MC rows, of balanced heights: 400 rows with MC
	// 384 make two blocks of 200, not one of 384 and one of 16.
	blocks := (np + perBlockOf(blk, kern) - 1) / perBlockOf(blk, kern)
	round := 0
	for b := range blocks {
		q0, q1 := b*np/blocks, (b+1)*np/blocks
		r0, r1 := start[q0], start[q1]
		for pc := 0; pc < j.k; pc, round = pc+blk.KC, round+1 {
			kc := min(blk.KC, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			last := pc+kc == j.k
			var ap []float32
			packA := func() { ap = j.packBlock(&buf.a, fast, start[q0:q1+1], pc, kc) }
			strip := func(col, w, next int) {
				j.computeStrip(buf, fast, start[q0:q1+1], ap, pc, kc, beta, col, w, next, n1)
			}
			if queue != nil {
				s, own := queue.claim(round, t)
				if s < 0 {
					continue
				}
				packA()
				// The epilogue takes runs of adjacent strips, as below.
				epFrom, epTo := 0, 0
				flush := func() {
					if epTo > epFrom {
						j.ep.apply(j.c, j.ldc, r0, r1, epFrom, epTo)
					}
				}
				for s >= 0 {
					col := s * stripWidth
					w := min(stripWidth, n1-col)
					next := col + stripWidth // the strip to prefetch: the owner's next
					if !own {
						next = n1
					}
					queue.await(s, round)
					strip(col, w, next)
					queue.finish(s)
					if last {
						if col != epTo || (epTo-epFrom)*(r1-r0) >= epilogueBlock {
							flush()
							epFrom = col
						}
						epTo = col + w
					}
					s, own = queue.claim(round, t)
				}
				if last {
					flush()
				}
				continue
			}
			packA()
			epFrom := n0 // the first column the epilogue has not reached
			for col := n0; col < n1; col += stripWidth {
				w := min(stripWidth, n1-col)
				strip(col, w, col+stripWidth)
				if last && (col+w == n1 || (col+w-epFrom)*(r1-r0) >= epilogueBlock) {
					j.ep.apply(j.c, j.ldc, r0, r1, epFrom, col+w)
					epFrom = col + w
				}
			}
		}
	}
}

// packBlock returns the row panels that starts bounds (panel p holds rows
// [starts[p], starts[p+1])), columns [pc, pc+kc) of op(A), one panel after
// the other from row starts[0]: those of a pre-packed A, or packed into
// buf.
func (j *sgemmJob) packBlock(buf *[]float32, fast bool, starts []int, pc, kc int) []float32 {
	r0, r1 := starts[0], starts[len(starts)-1]
	if j.pa != nil {
		return j.pa.block(r0, r1, pc)
	}
	a := alignedFloats(buf, (r1-r0)*kc+16) // the packers' slack
	for p := 0; p+1 < len(starts); p++ {
		r, h := starts[p], starts[p+1]-starts[p]
		packPanelA(a[(r-r0)*kc:], fast, j.transA, j.a, j.lda, r, h, pc, kc)
	}
	return a
}

// panelStarts returns the first row of each row panel of the part of rows
// [m0, m1), then m1: balanced heights of at most mr rows, in buf, or the
// panels of a pre-packed A (which m0 and m1 then bound, see rowSplit).
func (j *sgemmJob) panelStarts(buf *sgemmBuf, m0, m1 int) []int {
	if j.pa != nil {
		return j.pa.panels(m0, m1)
	}
	rows := m1 - m0
	np := (rows + j.kern.mr - 1) / j.kern.mr
	start := buf.panelStarts(np + 1)
	for q := range start {
		start[q] = m0 + q*rows/max(np, 1)
	}
	return start
}

// rowSplit returns the first row of part i of n parts of the rows of C:
// a panel boundary of a pre-packed A, so that the parts take whole panels.
func (j *sgemmJob) rowSplit(i, n int) int {
	if j.pa != nil {
		return j.pa.rowSplit(i, n)
	}
	return i * j.m / n
}

// computeStrip runs the micro-kernels over columns [col, col+w) of C for
// the row panels that starts bounds (panel p holds rows [starts[p],
// starts[p+1])), with the packed block a of those rows (from row starts[0])
// and round pc, kc of k, prefetching the strip of B at column next unless
// next >= n1.
func (j *sgemmJob) computeStrip(buf *sgemmBuf, fast bool, starts []int, a []float32, pc, kc int, beta float32, col, w, next, n1 int) {
	kern := j.kern
	bs := j.strip(buf, fast, pc, kc, col, w)
	pf, pfStride := j.nextStrip(pc, next, n1)
	pfRow := 0
	m0 := starts[0]
	for jj := 0; jj < w; jj += kern.nr {
		for p := 0; p+1 < len(starts); p++ {
			var pp *float32
			if pf != nil && pfRow < kc {
				pp = &pf[pfRow*pfStride]
				pfRow += kc / 4 // the lines one call prefetches
			}
			r, h := starts[p], starts[p+1]-starts[p]
			kern.tile(kc, a[(r-m0)*kc:(r-m0+h)*kc], bs[jj:], stripWidth, j.c[r*j.ldc+col+jj:], j.ldc, j.alpha, beta, h, min(kern.nr, w-jj), pp, pfStride)
		}
	}
}

// epilogueBlock is the number of elements of C, a few strips of the rows of
// a block, that the epilogue takes at once: small enough to be still in L2,
// large enough that its per-row calls are long.
const epilogueBlock = 32 << 10

// strip returns rows [pc, pc+kc) and columns [col, col+w) of op(B) as one
// strip of row stride stripWidth, packing it into buf unless B is pre-packed.
func (j *sgemmJob) strip(buf *sgemmBuf, fast bool, pc, kc, col, w int) []float32 {
	if j.packed != nil {
		return j.packed.data[col*j.k+pc*stripWidth:]
	}
	bs := alignedFloats(&buf.b, kc*stripWidth)
	if j.src != nil {
		j.src.packStrip(bs, pc, kc, col, w)
		return bs
	}
	packStripB(bs, fast, j.transB, j.b, j.ldb, pc, kc, col, w)
	return bs
}

// stripSource is a B operand that packs its own strips: one whose matrix
// is never stored, such as the column matrix of a convolution.
type stripSource interface {
	// packStrip writes rows [pc, pc+kc) and columns [col, col+w) of B
	// into dst[:kc*stripWidth] as packStripB does. It is called from
	// several threads at once.
	packStrip(dst []float32, pc, kc, col, w int)
}

// nextStrip returns what the kernels should prefetch while they work on
// the strip before column col: the rows of the strip of op(B) at col, from
// row pc on, as a slice and a row stride. It returns nil when there is no
// next strip, when B packs itself, or when op(B) is transposed (its strip is 32 rows of b, not
// worth prefetching two lines at a time).
func (j *sgemmJob) nextStrip(pc, col, n1 int) ([]float32, int) {
	switch {
	case col >= n1 || j.src != nil:
		return nil, 0
	case j.packed != nil:
		return j.packed.data[col*j.k+pc*stripWidth:], stripWidth
	case !j.transB:
		return j.b[pc*j.ldb+col:], j.ldb
	}
	return nil, 0
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
