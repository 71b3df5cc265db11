package tensor

import (
	"fmt"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
)

// checkLabels panics unless logits is (N, C) and labels holds N classes in
// [0, C). It returns N and C.
func checkLabels(op string, logits *Tensor, labels []int) (n, c int) {
	if logits.NDim() != 2 {
		panic(fmt.Sprintf("tensor: %s: input has shape %s; want (N, C)", op, shapeString(logits.shape)))
	}
	n, c = logits.shape[0], logits.shape[1]
	if len(labels) != n {
		panic(fmt.Sprintf("tensor: %s: %d labels for input %s", op, len(labels), shapeString(logits.shape)))
	}
	for i, y := range labels {
		if y < 0 || y >= c {
			panic(fmt.Sprintf("tensor: %s: label %d of sample %d is out of range [0, %d)", op, y, i, c))
		}
	}
	return n, c
}

// logSoftmaxRows returns log softmax over the rows of the (N, C) tensor x.
func logSoftmaxRows(x *Tensor) []float32 {
	lp := make([]float32, x.Numel())
	if len(lp) > 0 {
		kernels.LogSoftmaxRows(lp, x.Detach().Contiguous().Data(), x.shape[1])
	}
	return lp
}

// CrossEntropyPerSample returns the cross-entropy of each row of logits
// (N, C) with its class labels[i] ∈ [0, C), as a tensor (N): with
// p = softmax(logits[i]) and smoothing ε = labelSmoothing,
//
//	loss_i = (1 − ε)·(−log p[labels[i]]) + ε·mean_c(−log p_c),
//
// the cross-entropy with the target (1 − ε)·onehot + ε/C, as
// torch.nn.functional.cross_entropy(…, reduction='none', label_smoothing=ε).
// It panics if a label is out of range.
func CrossEntropyPerSample(logits *Tensor, labels []int, labelSmoothing float32) *Tensor {
	return crossEntropyRows("CrossEntropyPerSample", logits, labels, labelSmoothing)
}

// crossEntropyRows is CrossEntropyPerSample reporting misuse as op.
func crossEntropyRows(op string, logits *Tensor, labels []int, labelSmoothing float32) *Tensor {
	n, c := checkLabels(op, logits, labels)
	if labelSmoothing < 0 || labelSmoothing > 1 {
		panic(fmt.Sprintf("tensor: %s: label smoothing %g is outside [0, 1]", op, labelSmoothing))
	}
	labels = append([]int(nil), labels...) // the backward pass must not see later changes
	eps := labelSmoothing
	lp := logSoftmaxRows(logits)
	out := Zeros(n)
	for i, y := range labels {
		row := lp[i*c : (i+1)*c]
		out.data[i] = float32(-(1-eps)*row[y]) - float32(eps/float32(c)*kernels.Sum(row))
	}
	return record(out, op, func() {
		if !logits.requiresGrad {
			return
		}
		// d loss_i / d logits[i] = p − target.
		dx := logits.gradData()
		for i, y := range labels {
			g := out.grad.data[i]
			row, d := lp[i*c:(i+1)*c], dx[i*c:(i+1)*c]
			for j, v := range row {
				d[j] += float32(g * (float32(detmath.Exp(float64(v))) - eps/float32(c)))
			}
			d[y] -= float32(g * (1 - eps))
		}
	}, logits)
}

// CrossEntropy returns the mean over the batch of CrossEntropyPerSample, a
// scalar: torch.nn.functional.cross_entropy(logits, labels,
// label_smoothing=labelSmoothing) for logits (N, C).
func CrossEntropy(logits *Tensor, labels []int, labelSmoothing float32) *Tensor {
	return Mean(crossEntropyRows("CrossEntropy", logits, labels, labelSmoothing))
}

// CrossEntropySoftPerSample returns −Σ_c targets[i,c]·log softmax(logits[i])_c
// for each row of logits (N, C) and targets (N, C), as a tensor (N). targets
// are usually probabilities (rows summing to 1) but need not be; both inputs
// receive gradients, so detach targets that are fixed (a teacher's output).
func CrossEntropySoftPerSample(logits, targets *Tensor) *Tensor {
	return softCrossEntropyRows("CrossEntropySoftPerSample", logits, targets)
}

// softCrossEntropyRows is CrossEntropySoftPerSample reporting misuse as op.
func softCrossEntropyRows(op string, logits, targets *Tensor) *Tensor {
	if logits.NDim() != 2 || !sameShape(logits.shape, targets.shape) {
		panic(fmt.Sprintf("tensor: %s: shapes %s and %s; want equal (N, C)", op, shapeString(logits.shape), shapeString(targets.shape)))
	}
	n, c := logits.shape[0], logits.shape[1]
	lp := logSoftmaxRows(logits)
	td := targets.Detach().Contiguous().Data()
	out := Zeros(n)
	for i := range n {
		out.data[i] = -kernels.Dot(td[i*c:(i+1)*c], lp[i*c:(i+1)*c])
	}
	return record(out, op, func() {
		for i := range n {
			g := out.grad.data[i]
			row, t := lp[i*c:(i+1)*c], td[i*c:(i+1)*c]
			if logits.requiresGrad {
				// d/dz_j = p_j·Σt − t_j.
				d := logits.gradData()[i*c : (i+1)*c]
				st := kernels.Sum(t)
				for j, v := range row {
					d[j] += float32(g * (float32(float32(detmath.Exp(float64(v)))*st) - t[j]))
				}
			}
			if targets.requiresGrad {
				kernels.Axpy(-g, row, targets.gradData()[i*c:(i+1)*c])
			}
		}
	}, logits, targets)
}

// CrossEntropySoft returns the mean over the batch of
// CrossEntropySoftPerSample, a scalar: torch.nn.functional.cross_entropy
// with class-probability targets.
func CrossEntropySoft(logits, targets *Tensor) *Tensor {
	return Mean(softCrossEntropyRows("CrossEntropySoft", logits, targets))
}

// NLL returns −mean_i logProbs[i, labels[i]] for logProbs (N, C), a scalar,
// as torch.nn.functional.nll_loss. Use it on LogSoftmax output. It panics if
// a label is out of range.
func NLL(logProbs *Tensor, labels []int) *Tensor {
	const op = "NLL"
	n, c := checkLabels(op, logProbs, labels)
	labels = append([]int(nil), labels...)
	var s float64
	for i, y := range labels {
		s -= float64(logProbs.At(i, y))
	}
	out := Scalar(float32(s / float64(n)))
	return record(out, op, func() {
		if !logProbs.requiresGrad {
			return
		}
		g := out.grad.data[0] / float32(n)
		d := logProbs.gradData()
		for i, y := range labels {
			d[i*c+y] -= g
		}
	}, logProbs)
}

// KLDiv returns the Kullback–Leibler divergence KL(p‖q) = Σ_c p_c·(log p_c −
// log q_c) over the last dimension, given logP and logQ (…, C), the
// logarithms of the two distributions (for example LogSoftmax outputs). The
// result has the leading shape (…), one value per row, so that callers can
// weight samples; reduce it with Mean or Sum.
//
// The direction matters: the first argument is the distribution the
// expectation is taken under. KLDiv(logP, logQ) equals
// torch.nn.functional.kl_div(logQ, logP, reduction='none',
// log_target=True).sum(-1). Terms with p_c = 0 count as 0.
func KLDiv(logP, logQ *Tensor) *Tensor {
	const op = "KLDiv"
	if logP.NDim() == 0 || !sameShape(logP.shape, logQ.shape) {
		panic(fmt.Sprintf("tensor: %s: shapes %s and %s; want equal (…, C)", op, shapeString(logP.shape), shapeString(logQ.shape)))
	}
	nd := logP.NDim()
	c := logP.shape[nd-1]
	lp := logP.Detach().Contiguous().Data()
	lq := logQ.Detach().Contiguous().Data()
	out := Zeros(logP.shape[:nd-1]...)
	for i := range out.data {
		var s float64
		for j := i * c; j < (i+1)*c; j++ {
			if p := detmath.Exp(float64(lp[j])); p != 0 {
				s += float64(p * (float64(lp[j]) - float64(lq[j])))
			}
		}
		out.data[i] = float32(s)
	}
	return record(out, op, func() {
		var dp, dq []float32
		if logP.requiresGrad {
			dp = logP.gradData()
		}
		if logQ.requiresGrad {
			dq = logQ.gradData()
		}
		for i, g := range out.grad.data {
			for j := i * c; j < (i+1)*c; j++ {
				p := float32(detmath.Exp(float64(lp[j])))
				if p == 0 {
					continue
				}
				// d/dlogP_c = p_c·(log p_c − log q_c + 1), d/dlogQ_c = −p_c.
				if dp != nil {
					dp[j] += float32(g * p * (lp[j] - lq[j] + 1))
				}
				if dq != nil {
					dq[j] -= float32(g * p)
				}
			}
		}
	}, logP, logQ)
}
