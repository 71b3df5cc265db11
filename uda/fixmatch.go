package uda

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
)

// FixMatch returns one head's FixMatch term (spec §1.6, appendix B) and the
// fraction of samples it keeps. From the head's logits on the weak view,
// weak (B, C), it takes pseudo-labels ŷ_i = argmax softmax(weak_i) and
// confidences c_i = max softmax(weak_i), both constants for the gradient;
// the term is the cross-entropy of the head's logits on the strong view,
// strong (B, C), with those labels, over the confident samples only but
// averaged over all B:
//
//	L_fm = weight · (1/B)·Σ_i 1[c_i ≥ threshold]·CE(strong_i, ŷ_i)
//
// VariantPaper keeps c_i > threshold (appendix Eq. 1) instead. The
// comparison is made in float32, as PyTorch compares a float32 tensor with
// a Python number. Ties in the argmax go to the first class. The authors
// apply it to both heads: the task head h and the zero-shot head z_g.
func FixMatch(weak, strong *tensor.Tensor, threshold, weight float64, v Variant) (loss *tensor.Tensor, maskRate float64) {
	if weak.NDim() != 2 || weak.Dim(0) == 0 || !slices.Equal(weak.Shape(), strong.Shape()) {
		panic(fmt.Sprintf("uda: FixMatch: weak %s and strong %s; want equal (B, C), B > 0", shapefmt.String(weak.Shape()), shapefmt.String(strong.Shape())))
	}
	if v != VariantCode && v != VariantPaper {
		panic(fmt.Sprintf("uda: FixMatch: unknown %v", v))
	}
	pl := newPseudoLabels(weak, threshold, v)
	return pl.loss(strong, weight), pl.rate()
}

// pseudoLabels are one head's FixMatch targets from the weak view.
type pseudoLabels struct {
	labels []int     // ŷ_i, the argmax of the weak view
	mask   []float32 // 1 where the confidence passes the threshold, else 0
	kept   int       // the number of ones in mask
}

// newPseudoLabels computes the pseudo-labels and mask of the weak logits
// (B, C) without recording gradients.
func newPseudoLabels(weak *tensor.Tensor, threshold float64, v Variant) pseudoLabels {
	var pl pseudoLabels
	conf, labels := tensor.MaxDim(tensor.Softmax(weak.Detach(), 1), 1, false)
	pl.labels = labels
	thr := float32(threshold)
	pl.mask = make([]float32, len(pl.labels))
	for i, c := range conf.Values() {
		if c > thr || (v == VariantCode && c == thr) {
			pl.mask[i] = 1
			pl.kept++
		}
	}
	return pl
}

// loss returns weight·(1/B)·Σ_i mask_i·CE(strong_i, labels_i).
func (pl pseudoLabels) loss(strong *tensor.Tensor, weight float64) *tensor.Tensor {
	b := len(pl.labels)
	ce := tensor.CrossEntropyPerSample(strong, pl.labels, 0)
	return tensor.MulScalar(tensor.Sum(tensor.Mul(ce, tensor.New(pl.mask, b))), float32(weight/float64(b)))
}

// rate returns the fraction of samples kept.
func (pl pseudoLabels) rate() float64 { return float64(pl.kept) / float64(len(pl.labels)) }
