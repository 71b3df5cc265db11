// Package tensor provides float32 N-dimensional tensors with views, the
// operations a vision-language model needs, and hand-written reverse-mode
// automatic differentiation.
//
// # Tensors and views
//
// A Tensor is a shape and strides over a shared float32 storage. Reshape (of
// a contiguous tensor), Permute, Transpose, Narrow, Expand, Squeeze and
// Unsqueeze return views without copying; Contiguous copies only when it
// must. Shapes are row-major: the last dimension is the fastest.
//
// # Autograd
//
// Operations record the graph as they run (define-by-run). Each operation
// builds its output and sets a backward closure right below the forward code
// that adds the output's gradient into its inputs' gradients. Backward, called
// on a scalar, sorts the graph topologically, walks it in reverse and then
// releases it; leaf tensors created with RequiresGrad keep their gradients,
// which accumulate across calls until ZeroGrad.
//
// Whether an operation records is decided by its inputs alone: it records
// when one requires a gradient and none is an inference tensor. A forward
// pass for inference starts from x.Inference(); every tensor computed from
// it is an inference tensor and records nothing, although the model's
// parameters require gradients. No global switch is involved, so an
// evaluation in one goroutine leaves a training step in another recording.
//
// # Memory
//
// Storage is ordinary Go memory, released by the garbage collector once no
// tensor, gradient or graph refers to it. Because it holds no pointers, a
// collection costs little however large the tensors; with Go's default
// GOGC=100, though, a training step's heap can grow to about twice the
// tensors it keeps alive. Programs that train large models should lower the
// target; package gcpace does so while keeping the pages of each step's peak
// mapped (the vlpuda command calls gcpace.Start(10)). An inference pass
// may hand an activation it has used up back with Recycle: later outputs
// of the same size then reuse its storage instead of allocating, and
// clearing or faulting in, new memory. The operations that write every
// element of their output take it from there (convolutions, pooling,
// Linear, MatMul, LayerNorm, the binary arithmetic, Concat, attention).
//
// # Files
//
// One file per family of operations: tensor.go (the type, creation, access),
// autograd.go, view.go (shape operations), binary.go (broadcasting
// arithmetic), unary.go and scalar.go (math functions), reduce.go, matmul.go,
// softmax.go, norm.go, conv.go, pool.go, loss.go, attention.go, index.go,
// dropout.go.
//
// # Errors
//
// Misuse of shapes is a programming error: it panics with a message such as
// "tensor: MatMul: shapes (2,3) and (4,5) do not match". Nothing in this
// package touches files or user input.
package tensor
