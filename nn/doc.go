// Package nn provides the layers, models and optimisers of vlpuda on top of
// package tensor.
//
// A layer is a struct whose exported *tensor.Tensor fields are its
// parameters, named after the leaves of PyTorch's state_dict keys (Weight,
// Bias, InProjWeight), and whose Forward method computes its output. Params
// lists a module's own parameters with those names; a module with submodules
// also implements Parent and lists its children with their names, so that the
// dotted names NamedParams produces equal PyTorch's state_dict keys and
// checkpoints load by name. Nothing uses reflection.
//
// The constructors draw their weights from the *rand.Rand they are given.
// A nil rng draws nothing: the parameters are allocated and left zero,
// which costs no time and, for large fresh allocations, no memory until
// they are written. That is for a model whose every parameter a checkpoint
// is about to fill (see vlp.Load); it must not be used before.
//
// Files: module.go (the interfaces and walks over a model), linear.go,
// optim.go (SGD, AdamW, gradient clipping), schedule.go (learning-rate
// schedules), and one file per layer family.
package nn
