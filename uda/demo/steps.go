package demo

import (
	"math"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

// StepSizes describes how far the image tower's elements move in one
// optimiser step, |w_{t+1} − w_t| over every element and step of a dense
// run: what RST's τ must be calibrated against, since an element leaves
// its pre-trained value only if one step moves it further than τ (spec
// §1.8). Quantiles are upper bin edges of a histogram with 20 bins per
// decade, so they are within 12 % of the exact values.
type StepSizes struct {
	Steps int `json:"steps"`
	// Zero is the share of element-steps that did not move at all.
	Zero float64 `json:"zero"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// Histogram range: 10^stepLo to 10^stepHi, stepBins bins per decade.
const (
	stepLo   = -12
	stepHi   = 1
	stepBins = 20
)

// stepMeter accumulates the histogram of a tower's per-step moves.
type stepMeter struct {
	tower []nn.Named
	prev  []float32
	hist  [(stepHi - stepLo) * stepBins]int64
	zero  int64
	total int64
	max   float64
	steps int
}

func newStepMeter(m *vlp.CLIP) *stepMeter {
	s := &stepMeter{tower: rst.ImageTower(m)}
	s.prev = s.snapshot(nil)
	return s
}

// snapshot appends the tower's values to dst.
func (s *stepMeter) snapshot(dst []float32) []float32 {
	dst = dst[:0]
	for _, p := range s.tower {
		dst = append(dst, p.Tensor.Data()...)
	}
	return dst
}

// observe counts the moves since the last call.
func (s *stepMeter) observe() {
	k := 0
	for _, p := range s.tower {
		for _, v := range p.Tensor.Data() {
			d := math.Abs(float64(v) - float64(s.prev[k]))
			s.prev[k] = v
			k++
			s.total++
			if d == 0 {
				s.zero++
				continue
			}
			s.max = max(s.max, d)
			b := int(math.Floor((math.Log10(d) - stepLo) * stepBins))
			s.hist[min(max(b, 0), len(s.hist)-1)]++
		}
	}
	s.steps++
}

// result returns the quantiles, nil before any step.
func (s *stepMeter) result() *StepSizes {
	if s.steps == 0 {
		return nil
	}
	q := func(f float64) float64 {
		need := int64(math.Ceil(f * float64(s.total)))
		seen := s.zero
		if seen >= need {
			return 0
		}
		for b, n := range s.hist {
			if seen += n; seen >= need {
				return math.Pow(10, stepLo+float64(b+1)/stepBins)
			}
		}
		return s.max
	}
	return &StepSizes{
		Steps: s.steps, Zero: float64(s.zero) / float64(s.total),
		P50: q(0.5), P90: q(0.9), P99: q(0.99), P999: q(0.999), Max: s.max,
	}
}
