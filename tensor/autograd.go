package tensor

import "fmt"

// Inference returns a view of t's storage that is cut from the graph and
// marked for inference. No operation that takes an inference tensor records
// a graph, even when other inputs (a model's parameters) require
// gradients, and every tensor it computes is an inference tensor too, so a
// forward pass started from one keeps no values for a backward pass.
//
// Whether an operation records is thus decided by its inputs, not by global
// state: an evaluation on Inference images in one goroutine leaves a
// training step in another recording as usual. Use Inference for the input
// of a forward pass whose result is not trained, and Detach for a constant
// that enters a computation that is: an inference tensor in a training
// step's loss would stop its gradients.
func (t *Tensor) Inference() *Tensor {
	v := t.Detach()
	v.inference = true
	return v
}

// IsInference reports whether t is an inference tensor (see Inference):
// made by Inference or computed from one.
func (t *Tensor) IsInference() bool { return t.inference }

// SetRequiresGrad marks t as a leaf whose gradient Backward computes, or
// clears the mark. It returns t. Only leaves (tensors not computed by a
// recorded operation) that are not inference tensors may be marked.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if t.backward != nil {
		panic(fmt.Sprintf("tensor: SetRequiresGrad: %s is the output of %s, not a leaf; use Detach", shapeString(t.shape), t.op))
	}
	if on && t.inference {
		panic(fmt.Sprintf("tensor: SetRequiresGrad: %s is an inference tensor, which never records a graph; use Detach", shapeString(t.shape)))
	}
	t.requiresGrad = on
	if !on {
		t.grad = nil
	}
	return t
}

// RequiresGrad reports whether a gradient flows back to t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// IsLeaf reports whether t was not computed by a recorded operation.
func (t *Tensor) IsLeaf() bool { return t.backward == nil }

// Grad returns the gradient accumulated in t by Backward, or nil if none has
// arrived. It has t's shape and is contiguous.
func (t *Tensor) Grad() *Tensor { return t.grad }

// ZeroGrad drops t's accumulated gradient.
func (t *Tensor) ZeroGrad() { t.grad = nil }

// Detach returns a view of t's storage that is cut from the graph: no
// gradient flows through it (stop-gradient). It is not an inference tensor
// even when t is one: it is a constant, which operations combine with
// tensors that require gradients as usual.
func (t *Tensor) Detach() *Tensor {
	return &Tensor{data: t.data, offset: t.offset, shape: t.shape, strides: t.strides}
}

// gradData returns t's gradient buffer, allocating it as zeros on first use.
// Backward closures add their contribution into it.
func (t *Tensor) gradData() []float32 {
	if t.grad == nil {
		t.grad = Zeros(t.shape...)
	}
	return t.grad.data
}

// takeGrad adds g into t's gradient, where g (t's size, contiguous) is a
// buffer nothing else will read or write again: the gradient of an output
// that Backward releases once its closure returns, or a buffer the closure
// made. A t without a gradient yet takes g as its gradient instead of
// copying it, which saves a pass over memory for every view and every
// shape-preserving input. Give one buffer to one tensor only.
func (t *Tensor) takeGrad(g []float32) {
	if t.grad == nil && len(g) == t.Numel() {
		t.grad = &Tensor{data: g, shape: t.shape, strides: contiguousStrides(t.shape)}
		return
	}
	addTo(t.gradData(), g)
}

// record attaches the graph to out when needsGrad(inputs), or marks out as
// an inference tensor when an input is one, and returns out. backward reads
// out's gradient (gradData of out, always allocated when it runs) and adds
// into the inputs' gradients; it must skip inputs that do not require
// gradients.
func record(out *Tensor, op string, backward func(), inputs ...*Tensor) *Tensor {
	out.op = op
	switch {
	case anyInference(inputs):
		out.inference = true
	case anyRequiresGrad(inputs):
		out.requiresGrad = true
		out.parents = inputs
		out.backward = backward
	}
	return out
}

// needsGrad reports whether an operation on inputs is recorded for the
// backward pass: no input is an inference tensor and some input requires a
// gradient.
func needsGrad(inputs []*Tensor) bool {
	return !anyInference(inputs) && anyRequiresGrad(inputs)
}

func anyInference(inputs []*Tensor) bool {
	for _, in := range inputs {
		if in.inference {
			return true
		}
	}
	return false
}

func anyRequiresGrad(inputs []*Tensor) bool {
	for _, in := range inputs {
		if in.requiresGrad {
			return true
		}
	}
	return false
}

// Backward computes the gradient of the scalar t with respect to every leaf
// in its graph that requires gradients, adding it into their Grad. The graph
// is released afterwards: a second Backward through the same intermediate
// tensors is an error, as in PyTorch.
func (t *Tensor) Backward() {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("tensor: Backward: output has shape %s; want one element", shapeString(t.shape)))
	}
	if !t.requiresGrad {
		panic("tensor: Backward: output does not require gradients (no input requires them, or one is an inference tensor)")
	}
	order := topoSort(t)
	t.gradData()[0] += 1
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.backward == nil {
			continue
		}
		if n.grad != nil {
			n.backward()
		}
		// Release the graph as we go: an intermediate's gradient and the
		// values its closure captured are not needed once it has run.
		n.backward, n.parents, n.grad = nil, nil, nil
		n.requiresGrad = false
	}
}

// topoSort returns the nodes of t's graph that need a gradient, each after
// all the nodes it was computed from. The order is deterministic: parents are
// visited in the order the operation lists them.
func topoSort(t *Tensor) []*Tensor {
	var order []*Tensor
	visited := map[*Tensor]bool{}
	type frame struct {
		n    *Tensor
		next int
	}
	stack := []frame{{n: t}}
	visited[t] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.n.parents) {
			p := top.n.parents[top.next]
			top.next++
			if p.requiresGrad && !visited[p] {
				visited[p] = true
				stack = append(stack, frame{n: p})
			}
			continue
		}
		order = append(order, top.n)
		stack = stack[:len(stack)-1]
	}
	return order
}
