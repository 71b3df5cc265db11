package nn

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
)

// ParamGroup is a set of parameters trained with their own learning rate and
// weight decay, as in PyTorch's parameter groups.
type ParamGroup struct {
	Params      []*tensor.Tensor
	LR          float64 // base learning rate; Step multiplies it by the schedule's factor
	WeightDecay float64
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with every group's learning rate multiplied by
	// factor (the value of a Schedule at this step). Parameters without a
	// gradient are left alone.
	Step(factor float64)
	// ZeroGrad drops the gradients of every parameter.
	ZeroGrad()
	// State returns the optimiser's internal buffers, one per parameter in
	// group order (nil where none was made yet), for checkpoints.
	State() [][]float32
	// SetState restores buffers returned by State.
	SetState(state [][]float32) error
}

func zeroGrad(groups []ParamGroup) {
	for _, g := range groups {
		for _, p := range g.Params {
			p.ZeroGrad()
		}
	}
}

// SGD is stochastic gradient descent with momentum, dampening, Nesterov
// momentum and L2 weight decay, with PyTorch's update rule:
//
//	d = grad + wd·p
//	buf = momentum·buf + (1−dampening)·d   (buf = d on the first step)
//	d = d + momentum·buf if Nesterov, else buf
//	p = p − lr·d
type SGD struct {
	Groups    []ParamGroup
	Momentum  float64
	Dampening float64
	Nesterov  bool

	buf map[*tensor.Tensor][]float32
}

// Step implements Optimizer. Each parameter is updated in one pass over its
// elements, split over the kernels' threads.
func (o *SGD) Step(factor float64) {
	if o.buf == nil {
		o.buf = map[*tensor.Tensor][]float32{}
	}
	mom, damp := float32(o.Momentum), float32(1-o.Dampening)
	for _, g := range o.Groups {
		lr, wd := float32(g.LR*factor), float32(g.WeightDecay)
		for _, p := range g.Params {
			if p.Grad() == nil {
				continue
			}
			w, grad := p.Data(), p.Grad().Data()
			if mom == 0 {
				kernels.ParallelFor(len(w), 1<<14, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						w[i] -= float32(lr * (grad[i] + float32(wd*w[i])))
					}
				})
				continue
			}
			buf, started := o.buf[p]
			if started {
				kernels.SGDMomentum(w, grad, buf, lr, wd, mom, damp, o.Nesterov)
				continue
			}
			buf = make([]float32, len(w))
			o.buf[p] = buf
			kernels.ParallelFor(len(w), 1<<14, func(lo, hi int) {
				sgdFirstStep(w[lo:hi], grad[lo:hi], buf[lo:hi], lr, wd, mom, o.Nesterov)
			})
		}
	}
}

// sgdFirstStep applies the first momentum SGD update to w in place: the
// buffer starts at the decayed gradient d, undamped (PyTorch's rule); later
// steps are kernels.SGDMomentum. Each product and sum is rounded on its
// own, as there.
func sgdFirstStep(w, grad, buf []float32, lr, wd, mom float32, nesterov bool) {
	for i, gi := range grad {
		d := gi + float32(wd*w[i])
		buf[i] = d
		if nesterov {
			d += float32(mom * d)
		}
		w[i] -= float32(lr * d)
	}
}

// ZeroGrad implements Optimizer.
func (o *SGD) ZeroGrad() { zeroGrad(o.Groups) }

// State implements Optimizer: the momentum buffers.
func (o *SGD) State() [][]float32 { return collectState(o.Groups, o.buf) }

// SetState implements Optimizer.
func (o *SGD) SetState(state [][]float32) error {
	if o.buf == nil {
		o.buf = map[*tensor.Tensor][]float32{}
	}
	return restoreState("SGD", o.Groups, state, o.buf)
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), with
// PyTorch's update rule and bias correction.
type AdamW struct {
	Groups       []ParamGroup
	Beta1, Beta2 float64 // defaults 0.9 and 0.999 when zero
	Eps          float64 // default 1e-8 when zero

	step int
	m, v map[*tensor.Tensor][]float32
}

// Step implements Optimizer.
func (o *AdamW) Step(factor float64) {
	if o.m == nil {
		o.m, o.v = map[*tensor.Tensor][]float32{}, map[*tensor.Tensor][]float32{}
	}
	b1, b2, eps := orDefault(o.Beta1, 0.9), orDefault(o.Beta2, 0.999), orDefault(o.Eps, 1e-8)
	o.step++
	c1 := 1 - detmath.Pow(b1, float64(o.step))
	c2 := 1 - detmath.Pow(b2, float64(o.step))
	for _, g := range o.Groups {
		lr := g.LR * factor
		for _, p := range g.Params {
			if p.Grad() == nil {
				continue
			}
			w, grad := p.Data(), p.Grad().Data()
			m, ok := o.m[p]
			if !ok {
				m, o.v[p] = make([]float32, len(w)), make([]float32, len(w))
				o.m[p] = m
			}
			v := o.v[p]
			decay := float32(1 - float64(lr*g.WeightDecay))
			step := float32(lr / c1)
			rc2 := float32(1 / math.Sqrt(c2))
			for i, gi := range grad {
				m[i] = float32(float32(b1)*m[i]) + float32(float32(1-b1)*gi)
				v[i] = float32(float32(b2)*v[i]) + float32(float32(1-b2)*gi*gi)
				w[i] = float32(w[i]*decay) - step*m[i]/(float32(float32(math.Sqrt(float64(v[i])))*rc2)+float32(eps))
			}
		}
	}
}

// ZeroGrad implements Optimizer.
func (o *AdamW) ZeroGrad() { zeroGrad(o.Groups) }

// State implements Optimizer: the step count, then the first and then the
// second moments.
func (o *AdamW) State() [][]float32 {
	st := [][]float32{{float32(o.step)}}
	st = append(st, collectState(o.Groups, o.m)...)
	return append(st, collectState(o.Groups, o.v)...)
}

// SetState implements Optimizer.
func (o *AdamW) SetState(state [][]float32) error {
	n := countParams(o.Groups)
	if len(state) != 1+2*n || len(state[0]) != 1 {
		return fmt.Errorf("nn: AdamW state: %d buffers, want %d", len(state), 1+2*n)
	}
	o.m, o.v = map[*tensor.Tensor][]float32{}, map[*tensor.Tensor][]float32{}
	o.step = int(state[0][0])
	if err := restoreState("AdamW", o.Groups, state[1:1+n], o.m); err != nil {
		return err
	}
	return restoreState("AdamW", o.Groups, state[1+n:], o.v)
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func countParams(groups []ParamGroup) int {
	n := 0
	for _, g := range groups {
		n += len(g.Params)
	}
	return n
}

func collectState(groups []ParamGroup, bufs map[*tensor.Tensor][]float32) [][]float32 {
	var out [][]float32
	for _, g := range groups {
		for _, p := range g.Params {
			out = append(out, bufs[p])
		}
	}
	return out
}

func restoreState(opt string, groups []ParamGroup, state [][]float32, bufs map[*tensor.Tensor][]float32) error {
	if len(state) != countParams(groups) {
		return fmt.Errorf("nn: %s state: %d buffers for %d parameters", opt, len(state), countParams(groups))
	}
	i := 0
	for _, g := range groups {
		for _, p := range g.Params {
			s := state[i]
			i++
			if s == nil {
				delete(bufs, p)
				continue
			}
			if len(s) != p.Numel() {
				return fmt.Errorf("nn: %s state: buffer %d has %d values for a parameter of %d", opt, i-1, len(s), p.Numel())
			}
			bufs[p] = append([]float32(nil), s...)
		}
	}
	return nil
}

// ClipGradNorm scales the gradients of params so that their joint L2 norm is
// at most maxNorm, and returns the norm before clipping. A non-finite norm
// is returned unchanged and nothing is scaled, so the caller can stop.
func ClipGradNorm(params []*tensor.Tensor, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		if g := p.Grad(); g != nil {
			d := g.Data()
			ss += float64(kernels.Dot(d, d))
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) || norm <= maxNorm {
		return norm
	}
	scale := float32(maxNorm / (norm + 1e-6))
	for _, p := range params {
		if g := p.Grad(); g != nil {
			d := g.Data()
			kernels.Scale(d, scale, d)
		}
	}
	return norm
}
