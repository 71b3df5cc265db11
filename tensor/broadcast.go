package tensor

import "fmt"

// broadcastShape returns the shape that a and b broadcast to, following
// NumPy's rules: dimensions are aligned from the end and must be equal or 1.
func broadcastShape(op string, a, b []int) []int {
	nd := max(len(a), len(b))
	out := make([]int, nd)
	for i := range nd {
		da, db := dimFromEnd(a, nd-1-i), dimFromEnd(b, nd-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("tensor: %s: shapes %s and %s do not broadcast", op, shapeString(a), shapeString(b)))
		}
	}
	return out
}

func dimFromEnd(shape []int, k int) int {
	if i := len(shape) - 1 - k; i >= 0 {
		return shape[i]
	}
	return 1
}

// broadcastStrides returns t's strides for reading it as the given larger
// shape: 0 along dimensions that are broadcast.
func broadcastStrides(t *Tensor, shape []int) []int {
	st := make([]int, len(shape))
	lead := len(shape) - len(t.shape)
	for i := lead; i < len(shape); i++ {
		if t.shape[i-lead] != 1 {
			st[i] = t.strides[i-lead]
		}
	}
	return st
}

// gradStrides returns the strides into t's contiguous gradient buffer for
// accumulating a gradient of the larger shape: 0 along broadcast dimensions,
// so that addStrided sums over them.
func gradStrides(t *Tensor, shape []int) []int {
	st := make([]int, len(shape))
	lead := len(shape) - len(t.shape)
	gs := contiguousStrides(t.shape)
	for i := lead; i < len(shape); i++ {
		if t.shape[i-lead] != 1 {
			st[i] = gs[i-lead]
		}
	}
	return st
}

// reduceGradTo adds g (contiguous, of shape shape) into t's gradient, summing
// over the dimensions along which t was broadcast. With take set, g is a
// buffer t may keep (see takeGrad).
func reduceGradTo(t *Tensor, g []float32, shape []int, take bool) {
	if sameShape(t.shape, shape) {
		if take {
			t.takeGrad(g)
		} else {
			addTo(t.gradData(), g)
		}
		return
	}
	addStrided(t.gradData(), gradStrides(t, shape), g, contiguousStrides(shape), shape)
}
