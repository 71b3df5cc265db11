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
// A packed strip of op(B) holds kc rows of stripWidth floats,
// dst[p*stripWidth + j] = op(B)[pc+p][c0+j], with zeros past the last
// column. PackB lays out a whole matrix as such strips, each k rows long.

// packPanelA packs rows [r, r+h) and columns [pc, pc+kc) of op(A) into
// dst[:kc*h]. With fast set it uses the assembly packers, which may write up
// to 16 floats past kc*h.
func packPanelA(dst []float32, fast, transA bool, a []float32, lda, r, h, pc, kc int) {
	if transA {
		// op(A)[r+i][pc+p] = a[(pc+p)*lda + r+i]: h contiguous floats per step.
		if fast {
			packCopy16(dst, h, a[pc*lda+r:], lda, kc, h)
			return
		}
		for p := 0; p < kc; p++ {
			copy(dst[p*h:][:h], a[(pc+p)*lda+r:][:h])
		}
		return
	}
	// op(A)[r+i][pc+p] = a[(r+i)*lda + pc+p]: one contiguous row per i.
	interleave(dst, h, a[r*lda+pc:], lda, h, kc, fast)
}

// interleave sets dst[p*ldd+i] = src[i*lds+p] for i < rows, p < n: it packs
// rows of A, or columns of a transposed B, four at a time.
func interleave(dst []float32, ldd int, src []float32, lds, rows, n int, fast bool) {
	i := 0
	if fast && rows >= 4 && n >= 8 {
		n8 := n &^ 7
		for ; i < rows; i += 4 {
			// The last group overlaps the one before rather than leave
			// rows%4 rows to the scalar loop.
			i = min(i, rows-4)
			packInterleave4(dst[i:], ldd, src[i*lds:], lds, n8)
		}
		if n8 == n {
			return
		}
		for i := 0; i < rows; i++ {
			row := src[i*lds+n8 : i*lds+n]
			d := dst[n8*ldd+i:]
			for p, v := range row {
				d[p*ldd] = v
			}
		}
		return
	}
	for ; i+4 <= rows; i += 4 {
		r0 := src[i*lds:][:n]
		r1 := src[(i+1)*lds:][:len(r0)]
		r2 := src[(i+2)*lds:][:len(r0)]
		r3 := src[(i+3)*lds:][:len(r0)]
		for p := range r0 {
			d := dst[p*ldd+i:][:4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; i < rows; i++ {
		row := src[i*lds:][:n]
		d := dst[i:]
		for p, v := range row {
			d[p*ldd] = v
		}
	}
}

// packStripB packs rows [pc, pc+kc) and columns [c0, c0+w) of op(B), w ≤
// stripWidth, into dst[:kc*stripWidth], padding each row with zeros. With
// fast set it uses the assembly packers.
func packStripB(dst []float32, fast, transB bool, b []float32, ldb, pc, kc, c0, w int) {
	const sw = stripWidth
	dst = dst[:kc*sw]
	if !transB {
		// op(B)[pc+p][c0+j] = b[(pc+p)*ldb + c0+j]: w contiguous floats per step.
		if w == sw {
			if fast {
				packCopy32(dst, sw, b[pc*ldb+c0:], ldb, kc)
				return
			}
			for p := 0; p < kc; p++ {
				*(*[sw]float32)(dst[p*sw:]) = *(*[sw]float32)(b[(pc+p)*ldb+c0:])
			}
			return
		}
		for p := 0; p < kc; p++ {
			d := dst[p*sw : p*sw+sw]
			copy(d, b[(pc+p)*ldb+c0:][:w])
			clear(d[w:])
		}
		return
	}
	// op(B)[pc+p][c0+j] = b[(c0+j)*ldb + pc+p]: one contiguous row of b per column.
	if w < sw {
		clear(dst)
	}
	interleave(dst, sw, b[c0*ldb+pc:], ldb, w, kc, fast)
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
