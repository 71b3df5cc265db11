package tensor

import "sync"

// An inference forward pass allocates every layer's output and drops it a
// layer or two later. Go zeroes each new allocation, and the operations
// overwrite every element anyway: for a ResNet-50 at batch 8 that is about
// 400 MB of memory cleared for nothing per pass. Recycle lets a network hand
// back the outputs it has used up, and the operations below take their
// output storage from those first, uninitialised.

// recycled holds the storage handed back by Recycle, a sync.Pool of
// *[]float32 per length, so that the garbage collector still frees what
// stays unused.
var recycled sync.Map // int → *sync.Pool

// Recycle hands the storage of t back for reuse by the outputs of later
// operations on inference tensors, which then need not allocate and clear
// new memory. It does nothing unless t is the output of such an operation
// (not a view of one, not a tensor made by New or Zeros): others may share
// their storage with tensors that are still in use. Afterwards t has no
// storage, and a view of t, if any was made, must not be used.
func (t *Tensor) Recycle() {
	if !t.recyclable {
		return
	}
	data := t.data
	t.data, t.recyclable = nil, false
	pool, _ := recycled.LoadOrStore(len(data), new(sync.Pool))
	pool.(*sync.Pool).Put(&data)
}

// newOutput returns a contiguous tensor of the given shape for the output
// of an operation on inputs that writes every element of it. When an input
// is an inference tensor, so that the output is one too, its storage comes
// from Recycle if any of that length was handed back, uninitialised, and
// the output may be recycled in turn; otherwise it is Zeros.
func newOutput(inputs []*Tensor, shape ...int) *Tensor {
	if !anyInference(inputs) {
		return Zeros(shape...)
	}
	n := checkShape("newOutput", shape)
	var t *Tensor
	if pool, ok := recycled.Load(n); ok {
		if data, ok := pool.(*sync.Pool).Get().(*[]float32); ok {
			t = New(*data, shape...)
		}
	}
	if t == nil {
		t = Zeros(shape...)
	}
	t.recyclable = true
	return t
}
