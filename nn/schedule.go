package nn

import (
	"math"

	"github.com/vlpuda/vlpuda/internal/detmath"
)

// A Schedule gives the factor by which an optimiser multiplies its base
// learning rates at each step (step 0 is the first update).
type Schedule interface {
	Factor(step int) float64
}

// InverseDecay is the schedule lr·(1+Gamma·t)^(−Power) used by the paper and
// by most domain-adaptation code (Gamma 0.001, Power 0.75 there).
type InverseDecay struct {
	Gamma, Power float64
}

// Factor implements Schedule.
func (s InverseDecay) Factor(step int) float64 {
	return detmath.Pow(1+float64(s.Gamma*float64(step)), -s.Power)
}

// Constant is a schedule that keeps the base learning rate.
type Constant struct{}

// Factor implements Schedule.
func (Constant) Factor(int) float64 { return 1 }

// WarmupCosine rises linearly from 0 over Warmup steps, then follows a
// half cosine from 1 down to MinFactor at Total steps, and stays there.
type WarmupCosine struct {
	Warmup, Total int
	MinFactor     float64
}

// Factor implements Schedule.
func (s WarmupCosine) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step+1) / float64(s.Warmup+1)
	}
	span := s.Total - s.Warmup
	if span <= 0 || step >= s.Total {
		return s.MinFactor
	}
	p := float64(step-s.Warmup) / float64(span)
	return s.MinFactor + float64((1-s.MinFactor)*0.5*(1+detmath.Cos(math.Pi*p)))
}
