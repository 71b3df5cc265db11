package pretrain

import (
	"fmt"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
)

// softTargets returns the (N, N) targets of the contrastive loss for a
// batch whose sample i has caption captions[i]: row i is uniform over the
// samples whose caption equals captions[i] (i itself included). The
// matrix is symmetric, so it serves both directions.
func softTargets(captions []string) *tensor.Tensor {
	n := len(captions)
	count := map[string]int{}
	for _, c := range captions {
		count[c]++
	}
	t := make([]float32, n*n)
	for i, ci := range captions {
		w := 1 / float32(count[ci])
		for j, cj := range captions {
			if ci == cj {
				t[i*n+j] = w
			}
		}
	}
	return tensor.New(t, n, n)
}

// ContrastiveLoss is CLIP's symmetric contrastive loss for logits (N, N),
// where logits[i, j] compares image i with the caption of sample j:
//
//	loss = ½ (CE(logits, T) + CE(logitsᵀ, T)),
//
// the mean over rows of the cross-entropy with soft targets T. CLIP's own
// targets are the identity; here a caption that occurs k times in the
// batch spreads its target uniformly over its k samples (T[i, j] = 1/k
// when captions i and j are equal), so that identical captions are not
// pushed apart as negatives of each other. With all captions distinct it
// is CLIP's loss. Uniform logits give ln N.
func ContrastiveLoss(logits *tensor.Tensor, captions []string) *tensor.Tensor {
	if s := logits.Shape(); len(s) != 2 || s[0] != len(captions) || s[1] != len(captions) {
		panic(fmt.Sprintf("pretrain: ContrastiveLoss: logits of shape %s for %d captions", shapefmt.String(s), len(captions)))
	}
	t := softTargets(captions)
	i2t := tensor.CrossEntropySoft(logits, t)
	t2i := tensor.CrossEntropySoft(logits.T(), t)
	return tensor.MulScalar(tensor.Add(i2t, t2i), 0.5)
}
