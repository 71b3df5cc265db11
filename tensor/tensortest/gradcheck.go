// Package tensortest provides helpers for testing code built on package
// tensor: a finite-difference gradient check and tensor comparisons.
package tensortest

import (
	"fmt"
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
)

// GradCheck configures CheckGrad. The zero value uses the defaults.
type GradCheck struct {
	// Eps is the half step of the central difference (default 1e-2; float32
	// rounding makes smaller steps noisier, not more accurate).
	Eps float64
	// ATol and RTol bound |analytic − numeric| ≤ ATol·scale + RTol·|numeric|,
	// where scale is the largest numeric gradient magnitude, at least 1
	// (defaults 2e-3 and 2e-2).
	ATol, RTol float64
	// Seed chooses the random projection of f's output.
	Seed uint64
	// Sample, if positive, checks at most that many evenly spaced elements
	// of each input, for models too large to perturb every weight.
	Sample int
}

// CheckGrad compares the gradients that Backward computes for f at inputs
// with central finite differences, and reports every mismatch through tb.
// The inputs must be contiguous leaves; CheckGrad marks them as requiring
// gradients. f must be deterministic. The scalar that is differentiated is
// Σ f(inputs)·R for a fixed random R, so that every output element matters.
func CheckGrad(tb testing.TB, f func(in []*tensor.Tensor) *tensor.Tensor, inputs ...*tensor.Tensor) {
	tb.Helper()
	GradCheck{}.Check(tb, f, inputs...)
}

// Check is CheckGrad with the settings of c.
func (c GradCheck) Check(tb testing.TB, f func(in []*tensor.Tensor) *tensor.Tensor, inputs ...*tensor.Tensor) {
	tb.Helper()
	eps, atol, rtol := or(c.Eps, 1e-2), or(c.ATol, 2e-3), or(c.RTol, 2e-2)
	for _, in := range inputs {
		in.ZeroGrad()
		in.SetRequiresGrad(true)
	}
	// f runs twice into one loss, so that every input receives two
	// gradient contributions: a backward that overwrites the gradient
	// instead of adding to it then shows up as half the expected value.
	out := f(inputs)
	r := tensor.RandN(tensor.NewRNG(c.Seed+1), out.Shape()...)
	loss := tensor.Sum(tensor.Mul(tensor.Add(out, f(inputs)), r))
	loss.Backward()

	rv := r.Values()
	// The objective reads the perturbed inputs through inference views of
	// their storage, so that nothing is recorded.
	views := make([]*tensor.Tensor, len(inputs))
	for i, in := range inputs {
		views[i] = in.Inference()
	}
	objective := func() float64 {
		y := f(views).Values()
		var s float64
		for i, v := range y {
			s += float64(v) * float64(rv[i])
		}
		return 2 * s
	}
	for k, in := range inputs {
		x := in.Data()
		numeric := make([]float64, len(x))
		checked := make([]bool, len(x))
		scale := 1.0
		step := 1
		if c.Sample > 0 && len(x) > c.Sample {
			step = (len(x) + c.Sample - 1) / c.Sample
		}
		for i := 0; i < len(x); i += step {
			checked[i] = true
			orig := x[i]
			x[i] = orig + float32(eps)
			up := objective()
			x[i] = orig - float32(eps)
			down := objective()
			x[i] = orig
			// Divide by the step actually taken in float32.
			h := float64(orig+float32(eps)) - float64(orig-float32(eps))
			numeric[i] = (up - down) / h
			scale = math.Max(scale, math.Abs(numeric[i]))
		}
		var analytic []float32
		if g := in.Grad(); g != nil {
			analytic = g.Values()
		} else {
			analytic = make([]float32, len(x)) // no gradient arrived: all zero
		}
		bad, total := 0, 0
		for i, want := range numeric {
			if !checked[i] {
				continue
			}
			total++
			got := float64(analytic[i])
			if math.Abs(got-want) > atol*scale+rtol*math.Abs(want) || math.IsNaN(got) {
				if bad < 5 {
					tb.Errorf("input %d %s, element %d: analytic gradient %.6g, numeric %.6g", k, shapefmt.String(in.Shape()), i, got, want)
				}
				bad++
			}
		}
		if bad > 5 {
			tb.Errorf("input %d: %d of %d checked gradient elements differ", k, bad, total)
		}
	}
}

func or(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// AssertClose reports through tb when got and want differ in shape or in any
// element by more than atol + rtol·|want|.
func AssertClose(tb testing.TB, got, want *tensor.Tensor, atol, rtol float64) {
	tb.Helper()
	if err := Close(got, want, atol, rtol); err != nil {
		tb.Error(err)
	}
}

// Close returns an error describing the first difference between got and
// want beyond atol + rtol·|want|, and the largest absolute difference.
func Close(got, want *tensor.Tensor, atol, rtol float64) error {
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		return fmt.Errorf("shape %s, want %s", shapefmt.String(got.Shape()), shapefmt.String(want.Shape()))
	}
	g, w := got.Values(), want.Values()
	first, maxDiff, bad := -1, 0.0, 0
	for i := range g {
		gv, wv := float64(g[i]), float64(w[i])
		d := math.Abs(gv - wv)
		switch {
		case math.IsNaN(gv) && math.IsNaN(wv), math.IsInf(wv, 0) && gv == wv:
			d = 0 // equal special values
		case math.IsNaN(d) || math.IsInf(wv, 0):
			d = math.Inf(1)
		}
		if d > atol+rtol*math.Abs(float64(w[i])) {
			if first < 0 {
				first = i
			}
			bad++
		}
		if !math.IsNaN(d) {
			maxDiff = math.Max(maxDiff, d)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; first at %d: got %v, want %v; max abs diff %.3g", bad, len(g), first, g[first], w[first], maxDiff)
	}
	return nil
}
