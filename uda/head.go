package uda

import (
	"fmt"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// headInitStd is the standard deviation of the head's Linear weights at
// initialisation (the authors' weights_init_classifier: N(0, 0.001²)).
const headInitStd = 0.001

// Head is the task head h of the paper (§III-A, appendix D), trained on top
// of the image embedding f(x) (not L2-normalised):
//
//	BatchNorm1d(D) → LayerNorm(D, eps 1e-6) → Linear(D, C, no bias)
//
// BN's bias is frozen at 0 (it does not require gradients, so an optimiser
// leaves it alone) and its weight starts at 1; LayerNorm starts at weight 1,
// bias 0; the Linear weight is drawn from N(0, 0.001²). The head is not
// initialised from the text embeddings.
//
// In training mode BN normalises each batch with its own statistics and
// updates the running ones, so source and target batches, passed in separate
// Forward calls as the authors do, are normalised separately. In evaluation
// mode it uses the running statistics. Switch with nn.SetTraining; a new head
// starts in evaluation mode, like every module of package nn.
//
// State-dict names follow the authors' nn.Sequential, so the keys of their
// head_state_dict load unchanged:
//
//	0.weight, 0.bias (frozen), 0.running_mean, 0.running_var, 0.num_batches_tracked   BatchNorm1d
//	1.weight, 1.bias                                                                  LayerNorm
//	2.weight (C, D)                                                                   Linear
type Head struct {
	BN *nn.BatchNorm
	LN *nn.LayerNorm
	FC *nn.Linear
}

// NewHead returns a task head for d-dimensional features and c classes,
// drawing the Linear weights from rng.
func NewHead(rng *rand.Rand, d, c int) *Head {
	if d <= 0 || c <= 0 {
		panic(fmt.Sprintf("uda: NewHead: %d features and %d classes; want both positive", d, c))
	}
	bn := nn.NewBatchNorm(d)
	bn.Bias.SetRequiresGrad(false)
	w := tensor.RandN(rng, c, d)
	wd := w.Data()
	for i := range wd {
		wd[i] *= headInitStd
	}
	return &Head{
		BN: bn,
		LN: nn.NewLayerNorm(d, 1e-6),
		FC: &nn.Linear{Weight: w.SetRequiresGrad(true)},
	}
}

// Forward maps features (N, D) to logits (N, C).
func (h *Head) Forward(x *tensor.Tensor) *tensor.Tensor {
	return h.FC.Forward(h.LN.Forward(h.BN.Forward(x)))
}

// Params lists nothing: every parameter belongs to a child.
func (h *Head) Params(func(string, *tensor.Tensor)) {}

// Children lists the three layers as "0", "1" and "2", the positions of
// nn.Sequential.
func (h *Head) Children(visit func(string, nn.Module)) {
	visit("0", h.BN)
	visit("1", h.LN)
	visit("2", h.FC)
}

// Trainable returns the head's parameters that an optimiser updates: all but
// the frozen BatchNorm bias.
func (h *Head) Trainable() []*tensor.Tensor {
	var out []*tensor.Tensor
	for _, p := range nn.Params(h) {
		if p.RequiresGrad() {
			out = append(out, p)
		}
	}
	return out
}
