package uda

import (
	"fmt"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp"
)

// Evaluation is the accuracy of a task model (image tower then task head)
// on a labelled test set (spec §2.5).
type Evaluation struct {
	Images  int     `json:"images"`
	Correct int     `json:"correct"`
	Top1    float64 `json:"top1"` // Correct / Images
	// MeanPerClass is the mean of the per-class accuracies over the
	// classes that have images: VisDA-2017's metric (scikit-learn's
	// balanced_accuracy_score).
	MeanPerClass float64 `json:"mean_per_class"`
	// PerClass has one entry per class, in label order.
	PerClass []vlp.ClassResult `json:"per_class"`
	// Confusion counts the images of true class i predicted as class j at
	// [i][j].
	Confusion [][]int `json:"confusion"`
}

// Metric returns the value of the named metric (MetricTop1 or
// MetricMeanPerClass).
func (e *Evaluation) Metric(name string) float64 {
	if name == MetricMeanPerClass {
		return e.MeanPerClass
	}
	return e.Top1
}

// Evaluate classifies every image of set with the tower of m followed by
// head, both in evaluation mode and without recording gradients, batch
// images at a time, and compares the predictions (the first of equal
// logits) with the labels. classes names the head's outputs. progress, if
// not nil, is called after each batch. The modules are left in evaluation
// mode.
func Evaluate(m *vlp.CLIP, head *Head, classes []string, set EvalSet, batch int, progress func(done, total int)) (*Evaluation, error) {
	if batch <= 0 {
		panic(fmt.Sprintf("uda: Evaluate: batch %d", batch))
	}
	c := len(classes)
	if rows := head.FC.Weight.Dim(0); rows != c {
		return nil, fmt.Errorf("uda: evaluate: the head has %d classes, %d names given", rows, c)
	}
	nn.SetTraining(m.Visual, false)
	nn.SetTraining(head, false)
	ev := &Evaluation{Images: set.Len(), PerClass: make([]vlp.ClassResult, c), Confusion: make([][]int, c)}
	for k := range ev.Confusion {
		ev.Confusion[k] = make([]int, c)
		ev.PerClass[k].Class = classes[k]
	}
	// Inference only: pack the tower's weights once for every batch (see
	// nn.PackWeights); the predictions are the same bits.
	defer nn.PackWeights(m.Visual)()
	for lo := 0; lo < set.Len(); lo += batch {
		hi := min(lo+batch, set.Len())
		b, err := set.Batch(lo, hi)
		if err != nil {
			return nil, err
		}
		pred := tensor.Argmax(head.Forward(m.EncodeImage(b.Images.Inference())), 1)
		for i, p := range pred {
			y := b.Labels[i]
			if y < 0 || y >= c {
				return nil, fmt.Errorf("uda: evaluate: image %d has label %d, want [0, %d)", lo+i, y, c)
			}
			ev.Confusion[y][p]++
			ev.PerClass[y].Images++
			if p == y {
				ev.PerClass[y].Correct++
				ev.Correct++
			}
		}
		if progress != nil {
			progress(hi, set.Len())
		}
	}
	ev.Top1, ev.MeanPerClass = vlp.Accuracies(ev.PerClass)
	return ev, nil
}

// Evaluate evaluates the trainer's tower and head on set (see Evaluate).
// The next Step puts them back into training mode.
func (t *Trainer) Evaluate(set EvalSet, progress func(done, total int)) (*Evaluation, error) {
	return Evaluate(t.Model, t.Head, t.Teacher.Classes, set, t.cfg.EvalBatch, progress)
}
