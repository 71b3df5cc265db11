package tensor

import "github.com/vlpuda/vlpuda/kernels"

// Sum returns the sum of all elements of t as a scalar.
func Sum(t *Tensor) *Tensor {
	c := t.Detach().Contiguous()
	out := Scalar(kernels.Sum(c.Data()))
	return record(out, "Sum", func() {
		if t.requiresGrad {
			g := out.grad.data[0]
			gd := t.gradData()
			for i := range gd {
				gd[i] += g
			}
		}
	}, t)
}

// Mean returns the mean of all elements of t as a scalar.
func Mean(t *Tensor) *Tensor {
	n := t.Numel()
	c := t.Detach().Contiguous()
	out := Scalar(kernels.Sum(c.Data()) / float32(n))
	return record(out, "Mean", func() {
		if t.requiresGrad {
			g := out.grad.data[0] / float32(n)
			gd := t.gradData()
			for i := range gd {
				gd[i] += g
			}
		}
	}, t)
}
