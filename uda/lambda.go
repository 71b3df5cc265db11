package uda

import (
	"fmt"

	"github.com/vlpuda/vlpuda/internal/detmath"
)

// DefaultRampIters is the horizon of the dynamic loss weight in the authors'
// code: max_iter is hard-coded to 10 000 in main.py for every benchmark,
// including those that train for 20k or 40k iterations.
const DefaultRampIters = 10000

// Ramp is the dynamic factor that multiplies λ1 and λ3 (paper §III-B, "like
// DSAN"; spec §1.5):
//
//	λ_dyn(t) = 2/(1 + exp(−γ·μ)) − 1,   μ = min(t, MaxIter)/MaxIter.
//
// With the defaults (γ = 1, MaxIter = 10 000) it rises from 0 at t = 0 to
// 2/(1+e⁻¹) − 1 ≈ 0.4621 at t = 10 000 and stays there. The paper prints the
// formula garbled ("λ = 2β/exp(−1.0·μ) − 1"); this is the code's form.
// The zero Ramp uses the defaults.
type Ramp struct {
	// Gamma is γ (default 1; DSAN uses 10, the authors' code 1).
	Gamma float64
	// MaxIter is the iteration at which the ramp saturates (default
	// DefaultRampIters).
	MaxIter int
}

// At returns λ_dyn(t) for t, the number of training iterations completed
// before the current one: the authors' scheduler reads its counter, then
// advances it, so the first iteration uses t = 0 and λ_dyn = 0. It panics
// if t or MaxIter is negative.
func (r Ramp) At(t int) float64 {
	if t < 0 {
		panic(fmt.Sprintf("uda: Ramp.At: negative iteration %d", t))
	}
	gamma, maxIter := r.Gamma, r.MaxIter
	if gamma == 0 {
		gamma = 1
	}
	switch {
	case maxIter == 0:
		maxIter = DefaultRampIters
	case maxIter < 0:
		panic(fmt.Sprintf("uda: Ramp.At: MaxIter %d is negative", maxIter))
	}
	mu := float64(min(t, maxIter)) / float64(maxIter)
	return 2/(1+detmath.Exp(-gamma*mu)) - 1
}
