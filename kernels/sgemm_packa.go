package kernels

import "sort"

// packedA is an m×k matrix A packed once into the row panels the SGEMM
// driver reads, for products that multiply the same A by many B: the
// filters of a convolution in inference, which otherwise every call (and
// every chunk of images per thread) packs again.
//
// The layout is that of the driver's packed blocks laid end to end: for
// each block of KC steps of k in order, the row panels one after the
// other, each panel holding its rows' kc values step by step (packPanelA).
// The panels have the balanced heights the driver gives m rows (at most
// the kernel's mr), so a block of panels [q0, q1) of one KC block is one
// contiguous run, and the packed matrix takes exactly m·k floats, the
// room of A itself.
//
// The driver reads a packedA in place of packing A when its kernel and KC
// are those it was packed for; the products are then those of the
// unpacked A bit for bit, since neither the panels nor their heights change
// how an element of C is summed. With another kernel or KC (after Use or
// SetSgemmBlocking) the job unpacks A first.
type packedA struct {
	m, k   int
	mr, kc int       // the kernel's panel height and the KC it was packed for
	starts []int     // the first row of each panel, then m
	data   []float32 // m·k floats in the layout above
}

// newPackedA returns the layout of an m×k matrix for the current kernel
// and blocking, its data data (m·k floats), not yet filled.
func newPackedA(m, k int, data []float32) *packedA {
	kern := kernelFor(current)
	p := &packedA{m: m, k: k, mr: kern.mr, kc: blockingFor(kern).KC, data: data[: m*k : m*k]}
	np := (m + kern.mr - 1) / kern.mr
	p.starts = make([]int, np+1)
	for q := range p.starts {
		p.starts[q] = q * m / max(np, 1)
	}
	return p
}

// packA packs the m×k row-major matrix a (row stride lda) into new memory.
func packA(m, k int, a []float32, lda int) *packedA {
	checkMatrix("packA", "A", m, k, a, lda)
	p := newPackedA(m, k, make([]float32, m*k))
	p.pack(a, lda)
	return p
}

// packAInPlace packs the m×k row-major matrix a[:m*k] into a's own
// storage, through a copy of it in a scratch buffer that the next packing
// reuses (a model packs many). Until unpackInPlace, a holds the packed
// layout, not the matrix.
func packAInPlace(a []float32, m, k int) *packedA {
	checkMatrix("packAInPlace", "A", m, k, a, max(k, 1))
	src := getScratch(m * k)
	defer putScratch(src)
	copy(*src, a)
	p := newPackedA(m, k, a)
	p.pack(*src, max(k, 1))
	return p
}

// unpackInPlace undoes packAInPlace: the storage holds the matrix again,
// bit for bit, and p must not be used any more.
func (p *packedA) unpackInPlace() {
	a := getScratch(p.m * p.k)
	defer putScratch(a)
	p.unpackTo(*a)
	copy(p.data, *a)
	p.data = nil
}

// pack fills p.data from a, panel by panel on the threads.
func (p *packedA) pack(a []float32, lda int) {
	fast := packAsm(current)
	ParallelFor(len(p.starts)-1, 4, func(lo, hi int) {
		var scratch []float32 // the packers write a few floats past a panel
		for q := lo; q < hi; q++ {
			r, h := p.starts[q], p.starts[q+1]-p.starts[q]
			for pc := 0; pc < p.k; pc += p.kc {
				kc := min(p.kc, p.k-pc)
				buf := alignedFloats(&scratch, h*kc+16)
				packPanelA(buf, fast, false, a, lda, r, h, pc, kc)
				copy(p.block(r, r+h, pc), buf[:h*kc])
			}
		}
	})
}

// unpacked returns A as a new m×k row-major matrix.
func (p *packedA) unpacked() []float32 {
	a := make([]float32, p.m*p.k)
	p.unpackTo(a)
	return a
}

// unpackTo writes A into a (m×k, row-major).
func (p *packedA) unpackTo(a []float32) {
	for q := 0; q+1 < len(p.starts); q++ {
		r, h := p.starts[q], p.starts[q+1]-p.starts[q]
		for pc := 0; pc < p.k; pc += p.kc {
			kc := min(p.kc, p.k-pc)
			panel := p.block(r, r+h, pc)
			for i := range h {
				row := a[(r+i)*p.k+pc:][:kc]
				for s := range row {
					row[s] = panel[s*h+i]
				}
			}
		}
	}
}

// fits reports whether a job with kernel kern and blocking blk reads p as
// packed.
func (p *packedA) fits(kern *sgemmKernel, blk Blocking) bool {
	return p.mr == kern.mr && p.kc == blk.KC
}

// block returns the packed panels of rows [r0, r1), panel boundaries both,
// for the KC block of k that starts at pc.
func (p *packedA) block(r0, r1, pc int) []float32 {
	kc := min(p.kc, p.k-pc)
	return p.data[pc*p.m+r0*kc : pc*p.m+r1*kc]
}

// panels returns the panel boundaries from row r0 to row r1, which must
// both be boundaries.
func (p *packedA) panels(r0, r1 int) []int {
	q0 := sort.SearchInts(p.starts, r0)
	q1 := sort.SearchInts(p.starts, r1)
	return p.starts[q0 : q1+1 : q1+1]
}

// rowSplit returns the first row of part i of n, a panel boundary: the
// parts take whole panels.
func (p *packedA) rowSplit(i, n int) int {
	return p.starts[i*(len(p.starts)-1)/n]
}
