package rst

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/nn"
)

// Base applies residuals to one copy of base weights in place and reverts
// them exactly, so that N tasks can be evaluated with the memory of one
// model: Apply task 1, run it, Revert, Apply task 2, and so on.
//
// A Base is not safe for concurrent use, and nothing else may write to its
// tensors while a residual is applied.
type Base struct {
	params map[string]nn.Named
	fp     Fingerprint
	undo   []undo // of the applied residual; nil when none is
}

// undo records the base values a residual overwrote.
type undo struct {
	w     []float32
	index []int
	old   []float32
}

// NewBase returns a Base for params, which must hold the base weights
// (those the residuals' Projector started from) under the same names. It
// computes their fingerprint once, hashing every element in parallel.
// NewBase panics if a name repeats or a tensor is not contiguous.
func NewBase(params []nn.Named) *Base {
	b := &Base{params: make(map[string]nn.Named, len(params)), fp: FingerprintOf(params)}
	for _, p := range params {
		b.params[p.Name] = p
	}
	return b
}

// Fingerprint returns the fingerprint of the base weights.
func (b *Base) Fingerprint() Fingerprint { return b.fp }

// Applied reports whether a residual is applied.
func (b *Base) Applied() bool { return b.undo != nil }

// Apply writes r's sparse tensors into the base weights: the stored values
// for a Float32 residual, so the result equals the trained weights bit for
// bit, or w0 + δ for a Float16 one. It checks everything before writing:
// on error (a different base model, a tensor the base lacks, a shape or
// index that does not fit) the weights are unchanged. The dense tensors are
// not the base's; load them with nn.LoadStateDict(head,
// r.DenseStateDict(), false).
//
// r must not change until Revert. Apply panics if a residual is already
// applied; call Revert first.
func (b *Base) Apply(r *Residual) error {
	if b.undo != nil {
		panic("rst: Apply: a residual is already applied; Revert it first")
	}
	if err := r.CheckBase(b.fp); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("rst: apply: %w", err)
	}
	for _, s := range r.Sparse {
		p, ok := b.params[s.Name]
		if !ok {
			return fmt.Errorf("rst: apply: residual tensor %q is not in the base model", s.Name)
		}
		if !slices.Equal(p.Tensor.Shape(), s.Shape) {
			return fmt.Errorf("rst: apply: tensor %q has shape %s in the residual, %s in the base model",
				s.Name, shapeString(s.Shape), shapeString(p.Tensor.Shape()))
		}
	}
	b.undo = make([]undo, 0, len(r.Sparse))
	for _, s := range r.Sparse {
		w := b.params[s.Name].Tensor.Data()
		u := undo{w: w, index: s.Index, old: make([]float32, len(s.Index))}
		for k, i := range s.Index {
			u.old[k] = w[i]
			if r.Encoding == Float16 {
				w[i] += s.Values[k]
			} else {
				w[i] = s.Values[k]
			}
		}
		b.undo = append(b.undo, u)
	}
	return nil
}

// Revert restores the base weights that the applied residual overwrote,
// bit for bit. It does nothing if no residual is applied.
func (b *Base) Revert() {
	for _, u := range b.undo {
		for k, i := range u.index {
			u.w[i] = u.old[k]
		}
	}
	b.undo = nil
}
