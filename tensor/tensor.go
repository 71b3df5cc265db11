package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
)

// Tensor is a float32 N-dimensional array that may take part in automatic
// differentiation. The zero value is not usable; create tensors with New,
// Zeros, Full, RandN and the operations of this package.
type Tensor struct {
	data    []float32 // storage, possibly shared with other views
	offset  int       // index of element (0, …, 0) in data
	shape   []int
	strides []int

	requiresGrad bool
	inference    bool    // see Inference; never set together with requiresGrad
	recyclable   bool    // data may go back to newOutput (see Recycle)
	grad         *Tensor // contiguous, same shape; nil until a gradient arrives

	// The graph: the tensors this one was computed from and the closure that
	// adds this tensor's gradient into theirs. Both are nil for leaves and are
	// released by Backward.
	parents  []*Tensor
	backward func()
	op       string // the operation's name, for error messages
}

// New returns a contiguous tensor of the given shape that uses data as its
// storage (no copy). It panics if len(data) does not equal the product of the
// shape. A tensor with no dimensions is a scalar.
func New(data []float32, shape ...int) *Tensor {
	n := checkShape("New", shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor: New: %d values for shape %s (need %d)", len(data), shapeString(shape), n))
	}
	return &Tensor{data: data, shape: append([]int(nil), shape...), strides: contiguousStrides(shape)}
}

// Zeros returns a new tensor of the given shape filled with zeros.
func Zeros(shape ...int) *Tensor {
	return New(make([]float32, checkShape("Zeros", shape)), shape...)
}

// Full returns a new tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = v
	}
	return t
}

// Ones returns a new tensor of the given shape filled with ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Scalar returns a tensor with no dimensions holding v.
func Scalar(v float32) *Tensor { return New([]float32{v}) }

// ZerosLike returns a zero tensor with the shape of t.
func ZerosLike(t *Tensor) *Tensor { return Zeros(t.shape...) }

// FromFloat64 returns a new tensor holding xs converted to float32.
func FromFloat64(xs []float64, shape ...int) *Tensor {
	d := make([]float32, len(xs))
	for i, v := range xs {
		d[i] = float32(v)
	}
	return New(d, shape...)
}

// Arange returns the 1-D tensor [0, 1, …, n-1].
func Arange(n int) *Tensor {
	t := Zeros(n)
	for i := range t.data {
		t.data[i] = float32(i)
	}
	return t
}

// RandN returns a tensor of standard normal samples drawn from rng.
// Equal seeds give equal tensors.
func RandN(rng *rand.Rand, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = float32(rng.NormFloat64())
	}
	return t
}

// RandUniform returns a tensor of samples drawn uniformly from [lo, hi).
func RandUniform(rng *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = lo + float32((hi-lo)*rng.Float32())
	}
	return t
}

// NewRNG returns a deterministic random source for seed, the one every
// vlpuda component uses so that equal seeds give equal runs.
func NewRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Strides returns the step in elements between neighbours along each
// dimension. The caller must not modify it.
func (t *Tensor) Strides() []int { return t.strides }

// NDim returns the number of dimensions.
func (t *Tensor) NDim() int { return len(t.shape) }

// Dim returns the size of dimension d; negative d counts from the end.
func (t *Tensor) Dim(d int) int { return t.shape[t.axis("Dim", d)] }

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return numel(t.shape) }

// IsContiguous reports whether the elements are stored densely in row-major
// order, so that Data can return them without a copy.
func (t *Tensor) IsContiguous() bool {
	want := 1
	for d := len(t.shape) - 1; d >= 0; d-- {
		if t.shape[d] != 1 && t.strides[d] != want {
			return false
		}
		want *= t.shape[d]
	}
	return true
}

// Data returns the elements of a contiguous tensor in row-major order,
// sharing storage with t: writes through it change t (and every view of the
// same storage) without being recorded by autograd. It panics if t is not
// contiguous; call Contiguous first.
func (t *Tensor) Data() []float32 {
	if !t.IsContiguous() {
		panic(fmt.Sprintf("tensor: Data: tensor %s with strides %s is not contiguous", shapeString(t.shape), shapefmt.String(t.strides)))
	}
	return t.data[t.offset : t.offset+t.Numel()]
}

// Values returns a new slice holding the elements in row-major order.
func (t *Tensor) Values() []float32 {
	out := make([]float32, t.Numel())
	copyStrided(out, contiguousStrides(t.shape), t.data[t.offset:], t.strides, t.shape)
	return out
}

// Item returns the value of a tensor with one element.
func (t *Tensor) Item() float32 {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("tensor: Item: tensor has shape %s, not one element", shapeString(t.shape)))
	}
	return t.data[t.offset]
}

// At returns the element at the given index.
func (t *Tensor) At(idx ...int) float32 {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: At: %d indices for shape %s", len(idx), shapeString(t.shape)))
	}
	off := t.offset
	for d, i := range idx {
		if i < 0 || i >= t.shape[d] {
			panic(fmt.Sprintf("tensor: At: index %s out of range for shape %s", shapefmt.String(idx), shapeString(t.shape)))
		}
		off += i * t.strides[d]
	}
	return t.data[off]
}

// Clone returns a contiguous copy of t that shares nothing with it and has no
// graph. It keeps the requires-grad flag and the inference mark.
func (t *Tensor) Clone() *Tensor {
	c := New(t.Values(), t.shape...)
	c.requiresGrad, c.inference = t.requiresGrad, t.inference
	return c
}

// HasNaN reports whether any element is NaN or ±Inf.
func (t *Tensor) HasNaN() bool {
	for _, v := range t.Values() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}

// String formats the shape and, for small tensors, the values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%s", shapeString(t.shape))
	if n := t.Numel(); n <= 16 {
		fmt.Fprintf(&b, " %v", t.Values())
	}
	return b.String()
}

// axis normalises a possibly negative dimension index.
func (t *Tensor) axis(op string, d int) int {
	n, orig := len(t.shape), d
	if d < 0 {
		d += n
	}
	if d < 0 || d >= n {
		panic(fmt.Sprintf("tensor: %s: dimension %d out of range for shape %s", op, orig, shapeString(t.shape)))
	}
	return d
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func checkShape(op string, shape []int) int {
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("tensor: %s: negative dimension in shape %s", op, shapefmt.String(shape)))
		}
	}
	return numel(shape)
}

func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

// shapeString formats a shape for messages: "(2,3,4)", short at any rank.
func shapeString(shape []int) string { return shapefmt.Tuple(shape) }

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
