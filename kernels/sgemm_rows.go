package kernels

import (
	"slices"
	"sync/atomic"
)

// rowQueue balances a split of C's rows among threads, as stripQueue does
// a split of its columns. Thread t owns the rows of share t and, round by
// round (one per KC steps of k), packs their block of A and computes their
// strips from the front of the round's list, as with a static split. When
// its own list is empty it helps a thread that is behind: it takes strips
// from the back of that thread's list for the round the other has packed,
// packs those strips of B itself and computes them with the other's packed
// block of A. The owner packs its blocks into two buffers by the parity of
// the round and reuses one only after every strip of the round before the
// last has finished, on whichever thread; a strip waits for its previous
// round. So every element of C sees the same operations in the same order
// as with one thread: the results are those of any other split, bit for
// bit.
type rowQueue struct {
	threads, strips, rounds int
	starts                  [][]int        // per share, the first row of each panel, and the end
	shares                  []stripRange   // per round and share, the strips left
	done                    []atomic.Int32 // per share and strip, the rounds finished
	packed                  []atomic.Int32 // per share, the rounds whose block of A is packed
	blocks                  [][2][]float32 // per share, its packed blocks by the parity of the round
}

// newRowQueue returns a queue for a split of the rows among threads, or nil
// when a share of rows is too tall for one block of MC rows (the queue
// handles one block per share) and A has to be packed. A pre-packed A
// (packedA) is read in place whatever the height: a convolution with
// 1024 or 2048 filters over few positions (a ResNet's last stages at
// batch 1) would otherwise split its few strips of columns unevenly,
// every thread reading all of A.
func (j *sgemmJob) newRowQueue(threads int) *rowQueue {
	perBlock := perBlockOf(j.blk, j.kern)
	q := &rowQueue{
		threads: threads,
		strips:  (j.n + stripWidth - 1) / stripWidth,
		rounds:  (j.k + j.blk.KC - 1) / j.blk.KC,
		starts:  make([][]int, threads),
		blocks:  make([][2][]float32, threads),
		packed:  make([]atomic.Int32, threads),
	}
	var buf sgemmBuf
	for v := range threads {
		st := j.panelStarts(&buf, j.rowSplit(v, threads), j.rowSplit(v+1, threads))
		if j.pa == nil && len(st)-1 > perBlock {
			return nil
		}
		q.starts[v] = slices.Clone(st)
	}
	q.shares = make([]stripRange, q.rounds*threads)
	for i := range q.shares {
		q.shares[i].set(0, q.strips)
	}
	q.done = make([]atomic.Int32, threads*q.strips)
	return q
}

// await returns once strip s of share v has finished n rounds.
func (q *rowQueue) await(v, s, n int) { awaitCount(&q.done[v*q.strips+s], n) }

// rowQueueDelay, when set, runs before each strip a thread computes, from
// its own share or another's: tests slow threads down with it so that the
// others help and the owners catch up with their helpers.
var rowQueueDelay func(thread int, own bool)

// partRows computes the strips of share t that t takes, and those of other
// shares that it helps with.
func (j *sgemmJob) partRows(q *rowQueue, t int, buf *sgemmBuf) {
	blk := j.blk
	fast := packAsm(j.kern.isa)
	// compute runs round r of strip s of share v with its packed block a.
	compute := func(v, r, s int, a []float32, own bool) {
		if rowQueueDelay != nil {
			rowQueueDelay(t, own)
		}
		starts := q.starts[v]
		m0, m1 := starts[0], starts[len(starts)-1]
		pc := r * blk.KC
		kc := min(blk.KC, j.k-pc)
		beta := j.beta
		if r > 0 {
			beta = 1
		}
		col := s * stripWidth
		w := min(stripWidth, j.n-col)
		next := j.n // helpers prefetch nothing: their next strip is unknown
		if own {
			next = col + stripWidth
		}
		j.computeStrip(buf, fast, starts, a, pc, kc, beta, col, w, next, j.n)
		if pc+kc == j.k {
			j.ep.apply(j.c, j.ldc, m0, m1, col, col+w)
		}
		q.done[v*q.strips+s].Add(1)
	}
	starts := q.starts[t]
	for r := range q.rounds {
		pc := r * blk.KC
		kc := min(blk.KC, j.k-pc)
		if r >= 2 {
			// Reuse the block of round r-2 once no thread reads it.
			for s := range q.strips {
				q.await(t, s, r-1)
			}
		}
		a := j.packBlock(&buf.blocks[r%2], fast, starts, pc, kc)
		q.blocks[t][r%2] = a
		q.packed[t].Store(int32(r + 1))
		own := &q.shares[r*q.threads+t]
		for s := own.take(true); s >= 0; s = own.take(true) {
			q.await(t, s, r)
			compute(t, r, s, a, true)
		}
		for i := 1; i < q.threads; i++ {
			v := (t + i) % q.threads
			for {
				rv := int(q.packed[v].Load()) - 1
				if rv < 0 || rv > r {
					break
				}
				s := q.shares[rv*q.threads+v].take(false)
				if s < 0 {
					break
				}
				q.await(v, s, rv)
				compute(v, rv, s, q.blocks[v][rv%2], false)
			}
		}
	}
	// Keep the blocks until nobody reads them.
	for s := range q.strips {
		q.await(t, s, q.rounds)
	}
}
