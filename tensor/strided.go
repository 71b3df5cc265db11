package tensor

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
