package tensor

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/kernels"
)

// graphInputs returns the tensors that are not nil, for record: optional
// operands such as a missing bias take no part in the graph.
func graphInputs(ts ...*Tensor) []*Tensor {
	out := make([]*Tensor, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// checkVector panics unless t is nil or a 1-D tensor of n elements.
func checkVector(op, name string, t *Tensor, n int) {
	if t != nil && (t.NDim() != 1 || t.shape[0] != n) {
		panic(fmt.Sprintf("tensor: %s: %s has shape %s, want (%d)", op, name, shapeString(t.shape), n))
	}
}

// valuesOrNil returns t's elements contiguously, or nil for a nil t. The
// result may alias t's storage.
func valuesOrNil(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Detach().Contiguous().Data()
}

// wantsGrad reports whether t is an operand that needs a gradient.
func wantsGrad(t *Tensor) bool { return t != nil && t.requiresGrad }

// LayerNorm normalises x (…, C) over its last dimension,
//
//	y = (x − mean)/sqrt(var + eps)·weight + bias,
//
// with the biased variance, as torch.nn.functional.layer_norm(x, (C,),
// weight, bias, eps). weight and bias have shape (C); either may be nil,
// which means 1 and 0.
func LayerNorm(x, weight, bias *Tensor, eps float32) *Tensor {
	if x.NDim() == 0 || x.Dim(-1) == 0 {
		panic(fmt.Sprintf("tensor: LayerNorm: input has shape %s; want a last dimension of at least 1", shapeString(x.shape)))
	}
	c := x.Dim(-1)
	checkVector("LayerNorm", "weight", weight, c)
	checkVector("LayerNorm", "bias", bias, c)
	xd := x.Detach().Contiguous().Data()
	gamma := valuesOrNil(weight)
	rows := len(xd) / c
	mean, rstd := make([]float32, rows), make([]float32, rows)
	inputs := graphInputs(x, weight, bias)
	out := newOutput(inputs, x.shape...) // every element written
	kernels.LayerNormRows(out.data, mean, rstd, xd, gamma, valuesOrNil(bias), c, eps)
	return record(out, "LayerNorm", func() {
		var dgamma, dbeta []float32
		if wantsGrad(weight) {
			dgamma = weight.gradData()
		}
		if wantsGrad(bias) {
			dbeta = bias.gradData()
		}
		dx := make([]float32, len(xd))
		kernels.LayerNormRowsBackward(dx, dgamma, dbeta, out.grad.data, xd, mean, rstd, gamma, c)
		if x.requiresGrad {
			addTo(x.gradData(), dx)
		}
	}, inputs...)
}

// BatchNorm normalises each channel of x (N, C, …) — (N, C) or (N, C, H, W)
// or any number of trailing spatial dimensions — as
// torch.nn.functional.batch_norm:
//
//	y = (x − μ_c)/sqrt(σ²_c + eps)·weight_c + bias_c.
//
// weight and bias have shape (C); either may be nil, which means 1 and 0.
//
// In training mode (train true) μ_c and σ²_c are the mean and the biased
// variance of channel c over the batch and spatial positions (m = N·H·W…
// values, m ≥ 2). If runningMean and runningVar (C) are not nil they are
// updated in place, outside the graph, with the unbiased variance, as
// PyTorch does:
//
//	runningMean = (1 − momentum)·runningMean + momentum·μ
//	runningVar  = (1 − momentum)·runningVar  + momentum·σ²·m/(m − 1)
//
// The gradient flows through μ and σ² (full batch-norm backward).
//
// In evaluation mode (train false) μ and σ² are runningMean and runningVar,
// which are required; momentum is unused, and y is an affine map of x whose
// gradient is dx = dy·weight/sqrt(runningVar + eps). The running statistics
// never receive a gradient.
func BatchNorm(x, weight, bias, runningMean, runningVar *Tensor, train bool, momentum, eps float32) *Tensor {
	return batchNorm("BatchNorm", x, weight, bias, runningMean, runningVar, train, momentum, eps, false)
}

// BatchNormReLU is ReLU(BatchNorm(…)), the pair that follows every
// convolution of a ResNet, as one operation: one pass over memory instead
// of two, one output instead of two, and the same results bit for bit.
func BatchNormReLU(x, weight, bias, runningMean, runningVar *Tensor, train bool, momentum, eps float32) *Tensor {
	return batchNorm("BatchNormReLU", x, weight, bias, runningMean, runningVar, train, momentum, eps, true)
}

// BatchNormScaleShift returns the map y = scale·x + shift, per channel, that
// BatchNorm applies in evaluation mode: scale = weight/√(runningVar + eps)
// and shift = bias − runningMean·scale, rounded as BatchNorm rounds them,
// so that Conv2dAffine with them gives BatchNorm's values bit for bit.
// weight and bias may be nil (1 and 0).
func BatchNormScaleShift(weight, bias, runningMean, runningVar *Tensor, eps float32) (scale, shift []float32) {
	const op = "BatchNormScaleShift"
	if runningMean == nil || runningVar == nil || runningMean.NDim() != 1 {
		panic(fmt.Sprintf("tensor: %s: want running statistics of shape (C)", op))
	}
	c := runningMean.shape[0]
	checkVector(op, "weight", weight, c)
	checkVector(op, "bias", bias, c)
	checkVector(op, "runningVar", runningVar, c)
	mean, gamma, beta := runningMean.Values(), valuesOrNil(weight), valuesOrNil(bias)
	scale, shift, rstd := make([]float32, c), make([]float32, c), make([]float32, c)
	for ch, v := range runningVar.Values() {
		rstd[ch] = evalRstd(v, eps)
		scale[ch], shift[ch] = bnAffine(mean, rstd, gamma, beta, ch)
	}
	return scale, shift
}

// evalRstd returns 1/√(v + eps), the scale of evaluation mode.
func evalRstd(v, eps float32) float32 { return float32(1 / math.Sqrt(float64(v)+float64(eps))) }

// bnAffine returns batch norm's map y = a·x + b for channel ch: a = rstd·γ
// and b = β − μ·a.
func bnAffine(mean, rstd, gamma, beta []float32, ch int) (a, b float32) {
	a = rstd[ch]
	if gamma != nil {
		a *= gamma[ch]
	}
	b = float32(-mean[ch] * a)
	if beta != nil {
		b += beta[ch]
	}
	return a, b
}

func batchNorm(op string, x, weight, bias, runningMean, runningVar *Tensor, train bool, momentum, eps float32, relu bool) *Tensor {
	if x.NDim() < 2 {
		panic(fmt.Sprintf("tensor: %s: input has shape %s; want (N, C, …)", op, shapeString(x.shape)))
	}
	n, c := x.shape[0], x.shape[1]
	sp := numel(x.shape[2:]) // values per channel and sample
	m := n * sp              // values per channel
	checkVector(op, "weight", weight, c)
	checkVector(op, "bias", bias, c)
	checkVector(op, "runningMean", runningMean, c)
	checkVector(op, "runningVar", runningVar, c)
	if (runningMean == nil) != (runningVar == nil) {
		panic(fmt.Sprintf("tensor: %s: runningMean and runningVar must both be given or both be nil", op))
	}
	xd := x.Detach().Contiguous().Data()
	gamma, beta := valuesOrNil(weight), valuesOrNil(bias)
	mean, rstd := make([]float32, c), make([]float32, c)

	// forChannels runs fn on disjoint ranges of channels in parallel; fn
	// visits the values of channel ch as n blocks of sp.
	grain := max(1, (1<<14)/max(1, m))
	forChannels := func(fn func(ch int)) {
		kernels.ParallelFor(c, grain, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				fn(ch)
			}
		})
	}
	block := func(i, ch int) int { return (i*c + ch) * sp }

	if train {
		if m < 2 {
			panic(fmt.Sprintf("tensor: %s: training needs more than one value per channel, input has shape %s", op, shapeString(x.shape)))
		}
		varU := make([]float64, c)
		forChannels(func(ch int) {
			var s float64
			for i := range n {
				for _, v := range xd[block(i, ch):][:sp] {
					s += float64(v)
				}
			}
			mu := s / float64(m)
			var ss float64
			for i := range n {
				for _, v := range xd[block(i, ch):][:sp] {
					d := float64(v) - mu
					ss += float64(d * d)
				}
			}
			mean[ch] = float32(mu)
			rstd[ch] = float32(1 / math.Sqrt(ss/float64(m)+float64(eps)))
			varU[ch] = ss / float64(m-1)
		})
		if runningMean != nil {
			rm, rv := runningMean.Data(), runningVar.Data()
			for ch := range c {
				rm[ch] = float32((1-momentum)*rm[ch]) + float32(momentum*mean[ch])
				rv[ch] = float32((1-momentum)*rv[ch]) + float32(momentum*float32(varU[ch]))
			}
		}
	} else {
		if runningMean == nil {
			panic(fmt.Sprintf("tensor: %s: evaluation mode needs runningMean and runningVar", op))
		}
		copy(mean, runningMean.Values())
		for ch, v := range runningVar.Values() {
			rstd[ch] = evalRstd(v, eps)
		}
	}

	out := Zeros(x.shape...)
	forChannels(func(ch int) {
		a, b := bnAffine(mean, rstd, gamma, beta, ch)
		affine := kernels.Affine
		if relu {
			affine = kernels.AffineReLU
		}
		for i := range n {
			o := block(i, ch)
			affine(out.data[o:o+sp], a, xd[o:o+sp], b)
		}
	})
	return record(out, op, func() {
		g := out.grad.data
		if relu {
			// Through the ReLU first, in place: out's gradient is released
			// after this closure.
			kernels.ReLUBackward(g, g, out.data)
		}
		var dx, dgamma, dbeta []float32
		if x.requiresGrad {
			dx = x.gradData()
		}
		if wantsGrad(weight) {
			dgamma = weight.gradData()
		}
		if wantsGrad(bias) {
			dbeta = bias.gradData()
		}
		forChannels(func(ch int) {
			mu, rs := mean[ch], rstd[ch]
			// Σg and Σg·x̂ over the channel, x̂ = (x − μ)·rstd, the latter
			// as rstd·(Σg·x − μ·Σg).
			var sg, sgx float64
			for i := range n {
				o := block(i, ch)
				sg += float64(kernels.Sum(g[o : o+sp]))
				sgx += float64(kernels.Dot(g[o:o+sp], xd[o:o+sp]))
			}
			sgx = float64(rs) * (sgx - float64(float64(mu)*sg))
			if dgamma != nil {
				dgamma[ch] += float32(sgx)
			}
			if dbeta != nil {
				dbeta[ch] += float32(sg)
			}
			if dx == nil {
				return
			}
			a := rs
			if gamma != nil {
				a *= gamma[ch]
			}
			if !train {
				for i := range n {
					o := block(i, ch)
					kernels.Axpy(a, g[o:o+sp], dx[o:o+sp])
				}
				return
			}
			// dx = a·(g − Σg/m − x̂·Σ(g·x̂)/m): the batch statistics depend on x.
			mg, mgx := float32(sg/float64(m)), float32(sgx/float64(m))
			for i := range n {
				o := block(i, ch)
				kernels.BatchNormBackwardDx(dx[o:o+sp], g[o:o+sp], xd[o:o+sp], a, mg, mu, rs, mgx)
			}
		})
	}, graphInputs(x, weight, bias)...)
}
