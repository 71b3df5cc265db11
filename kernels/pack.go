package kernels

import "unsafe"

// Packing copies blocks of A and B into the layouts the micro-kernels read
// contiguously. The packers read op(A) and op(B) through the transpose flags,
// so a transposed operand is never materialized.
//
// A packed block of op(A) is a run of micro-panels, one per row panel: a
// panel of h rows at row r holds kc steps of h floats, dst[p*h+i] =
// op(A)[r+i][pc+p]. Panels follow each other, so the panel starting at row
// r of a block starting at row r0 begins at (r-r0)*kc.
//
// A packed block of op(B) is a run of strips of stripWidth columns: strip s
// holds kc rows of stripWidth floats, dst[s*kc*stripWidth + p*stripWidth + j]
// = op(B)[pc+p][c0+s*stripWidth+j], with zeros past the last column.

// packPanelA packs rows [r, r+h) and columns [pc, pc+kc) of op(A) into dst[:kc*h].
func packPanelA(dst []float32, transA bool, a []float32, lda, r, h, pc, kc int) {
	dst = dst[:kc*h]
	if transA {
		// op(A)[r+i][pc+p] = a[(pc+p)*lda + r+i]: h contiguous floats per step.
		for p := 0; p < kc; p++ {
			copy(dst[p*h:p*h+h], a[(pc+p)*lda+r:(pc+p)*lda+r+h])
		}
		return
	}
	// op(A)[r+i][pc+p] = a[(r+i)*lda + pc+p]: one contiguous row per i.
	for i := 0; i < h; i++ {
		row := a[(r+i)*lda+pc : (r+i)*lda+pc+kc]
		d := dst[i:]
		for p, v := range row {
			d[p*h] = v
		}
	}
}

// packStripB packs rows [pc, pc+kc) and columns [c0, c0+w) of op(B), w ≤
// stripWidth, into dst[:kc*stripWidth], padding each row with zeros.
func packStripB(dst []float32, transB bool, b []float32, ldb, pc, kc, c0, w int) {
	const sw = stripWidth
	dst = dst[:kc*sw]
	if transB {
		// op(B)[pc+p][c0+j] = b[(c0+j)*ldb + pc+p]: one contiguous row per j.
		if w < sw {
			clear(dst)
		}
		for j := 0; j < w; j++ {
			col := b[(c0+j)*ldb+pc : (c0+j)*ldb+pc+kc]
			d := dst[j:]
			for p, v := range col {
				d[p*sw] = v
			}
		}
		return
	}
	// op(B)[pc+p][c0+j] = b[(pc+p)*ldb + c0+j]: w contiguous floats per step.
	for p := 0; p < kc; p++ {
		d := dst[p*sw : p*sw+sw]
		copy(d, b[(pc+p)*ldb+c0:(pc+p)*ldb+c0+w])
		if w < sw {
			clear(d[w:])
		}
	}
}

// packBlockB packs rows [pc, pc+kc) and columns [c0, c0+nc) of op(B), whose
// full width is n, into ceil(nc/stripWidth) strips.
func packBlockB(dst []float32, transB bool, b []float32, ldb, pc, kc, c0, nc int) {
	for s := 0; s*stripWidth < nc; s++ {
		w := min(stripWidth, nc-s*stripWidth)
		packStripB(dst[s*kc*stripWidth:], transB, b, ldb, pc, kc, c0+s*stripWidth, w)
	}
}

// alignedFloats returns a slice of n floats starting on a 64-byte (cache
// line) boundary, reusing the backing array *buf when it is large enough.
// The contents are not cleared.
func alignedFloats(buf *[]float32, n int) []float32 {
	const pad = 64 / 4
	if cap(*buf) < n+pad {
		*buf = make([]float32, n+pad)
	}
	raw := (*buf)[:cap(*buf)]
	off := int((64-uintptr(unsafe.Pointer(&raw[0]))%64)%64) / 4
	return raw[off : off+n : off+n]
}
