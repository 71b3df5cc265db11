package tensor

import "slices"

// walk visits every innermost row of an array of the given shape as seen
// through several operands with their own strides. For each row it calls fn
// with the offset of the row's first element in each operand, the row length
// n and each operand's stride along the row. Offsets start at 0; callers add
// their operands' base offsets. A shape with a zero dimension visits nothing;
// a scalar shape visits one row of length 1.
func walk(shape []int, strides [][]int, fn func(offs []int, n int, inner []int)) {
	k := len(strides)
	offs := make([]int, k)
	inner := make([]int, k)
	nd := len(shape)
	if nd == 0 {
		fn(offs, 1, inner)
		return
	}
	for _, s := range shape {
		if s == 0 {
			return
		}
	}
	for j := range k {
		inner[j] = strides[j][nd-1]
	}
	n := shape[nd-1]
	idx := make([]int, nd-1)
	for {
		fn(offs, n, inner)
		// Advance the outer index like an odometer, updating offsets.
		d := nd - 2
		for ; d >= 0; d-- {
			idx[d]++
			for j := range k {
				offs[j] += strides[j][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for j := range k {
				offs[j] -= strides[j][d] * shape[d]
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// copyStrided copies src (strides ss) into dst (strides ds), both of the given shape.
func copyStrided(dst []float32, ds []int, src []float32, ss []int, shape []int) {
	if e := transposedDim(ds, ss, shape); e >= 0 {
		copyTransposed(dst, ds, src, ss, shape, e)
		return
	}
	walk(shape, [][]int{ds, ss}, func(offs []int, n int, inner []int) {
		d, s := offs[0], offs[1]
		if inner[0] == 1 && inner[1] == 1 {
			copy(dst[d:d+n], src[s:s+n])
			return
		}
		for i := 0; i < n; i++ {
			dst[d+i*inner[0]] = src[s+i*inner[1]]
		}
	})
}

// transposedDim returns the dimension e < last along which src is
// contiguous when dst is contiguous along the last dimension and src is
// not: the copy then transposes dimensions e and last, as the (N, H·W, C)
// view of an (N, C, H·W) tensor does. Otherwise it returns -1.
func transposedDim(ds, ss, shape []int) int {
	last := len(shape) - 1
	if last < 1 || ds[last] != 1 || ss[last] == 1 || shape[last] < 2 {
		return -1
	}
	for e := last - 1; e >= 0; e-- {
		if ss[e] == 1 && shape[e] > 1 {
			return e
		}
	}
	return -1
}

// transposeTile is the side of the tiles copyTransposed moves at once: a
// cache line of floats.
const transposeTile = 16

// copyTransposed is copyStrided for a transpose of dimensions e and last
// (transposedDim), tile by tile: a tile reads transposeTile lines of src
// and writes transposeTile lines of dst, all of them in L1 until the tile
// is done. Walking the rows of dst instead reads a new line of src for
// every element, and a line is used again only transposeTile rows later,
// by which time a long row has pushed it out of L1. Each element of dst is
// written once, so the order does not change the result.
func copyTransposed(dst []float32, ds []int, src []float32, ss []int, shape []int, e int) {
	last := len(shape) - 1
	rows, cols := shape[e], shape[last] // dst rows along e, contiguous along last
	dRow, sCol := ds[e], ss[last]
	// Walk the other dimensions, with e and last of extent 1.
	outer := slices.Clone(shape)
	outer[e], outer[last] = 1, 1
	walk(outer, [][]int{ds, ss}, func(offs []int, _ int, _ []int) {
		d0, s0 := offs[0], offs[1]
		for i0 := 0; i0 < rows; i0 += transposeTile {
			i1 := min(rows, i0+transposeTile)
			for j0 := 0; j0 < cols; j0 += transposeTile {
				j1 := min(cols, j0+transposeTile)
				for i := i0; i < i1; i++ {
					d := dst[d0+i*dRow+j0 : d0+i*dRow+j1]
					s := s0 + i + j0*sCol
					for j := range d {
						d[j] = src[s+j*sCol]
					}
				}
			}
		}
	})
}

// addStrided adds src (strides ss) into dst (strides ds), both of the given
// shape. dst strides may be 0 along a dimension, which sums src over it.
func addStrided(dst []float32, ds []int, src []float32, ss []int, shape []int) {
	walk(shape, [][]int{ds, ss}, func(offs []int, n int, inner []int) {
		d, s := offs[0], offs[1]
		switch {
		case inner[0] == 1 && inner[1] == 1:
			dr, sr := dst[d:d+n], src[s:s+n]
			for i, v := range sr {
				dr[i] += v
			}
		case inner[0] == 0:
			var acc float32
			for i := 0; i < n; i++ {
				acc += src[s+i*inner[1]]
			}
			dst[d] += acc
		default:
			for i := 0; i < n; i++ {
				dst[d+i*inner[0]] += src[s+i*inner[1]]
			}
		}
	})
}
