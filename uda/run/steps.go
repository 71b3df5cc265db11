package run

import (
	"math"
	"sync"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
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

// stepBin returns the histogram bin of a move d > 0:
// floor((log10(d) − stepLo)·stepBins), clamped to the histogram, with
// log10 d = log d · (1/ln 10) as package math computes it.
func stepBin(d float64) int {
	b := int(math.Floor((float64(detmath.Log(d)*(1/math.Ln10)) - stepLo) * stepBins))
	return min(max(b, 0), numStepBins-1)
}

const numStepBins = (stepHi - stepLo) * stepBins

// stepEdges returns the bins' lower edges: element b-1 is the least
// float64 whose stepBin is b or more, found by bisecting the bit patterns
// of positive floats (ordered like the values), so that counting the edges
// at or below d gives stepBin(d) exactly, without a logarithm per element.
func stepEdges() []float64 {
	edges := make([]float64, numStepBins-1)
	for b := 1; b < numStepBins; b++ {
		lo, hi := uint64(1), math.Float64bits(math.MaxFloat64) // stepBin(lo) < b <= stepBin(hi)
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if stepBin(math.Float64frombits(mid)) >= b {
				hi = mid
			} else {
				lo = mid
			}
		}
		edges[b-1] = math.Float64frombits(hi)
	}
	return edges
}

// searchStepBin is stepBin(d) for d > 0, by binary search over the edges.
func searchStepBin(edges []float64, d float64) int {
	lo, hi := 0, len(edges) // the answer is in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid] <= d {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// A stepTable finds bins by table lookup. A positive float's bit pattern
// shifted right by stepKeyShift keeps its exponent and 6 mantissa bits: a
// key for a bucket of values 1.1 % wide at most, against bins 12 % wide, so
// a bucket holds at most one edge. For each key between the first and the
// last edge's, the table holds the bin of the bucket's least value and the
// edge inside the bucket (+Inf if none).
type stepTable struct {
	edges  []float64 // stepEdges()
	keyLo  uint64
	first  []int32
	inside []float64
}

const stepKeyShift = 52 - 6

var stepLookup = sync.OnceValue(func() *stepTable {
	edges := stepEdges()
	t := &stepTable{edges: edges, keyLo: math.Float64bits(edges[0]) >> stepKeyShift}
	keyHi := math.Float64bits(edges[len(edges)-1]) >> stepKeyShift
	for key := t.keyLo; key <= keyHi; key++ {
		least := math.Float64frombits(key << stepKeyShift)
		next := math.Float64frombits((key + 1) << stepKeyShift)
		b := searchStepBin(edges, least)
		edge := math.Inf(1)
		if b < len(edges) && edges[b] < next {
			edge = edges[b]
		}
		t.first = append(t.first, int32(b))
		t.inside = append(t.inside, edge)
	}
	return t
})

// bin returns stepBin(d) for d > 0.
func (t *stepTable) bin(d float64) int {
	i := math.Float64bits(d)>>stepKeyShift - t.keyLo
	switch {
	case d < t.edges[0]:
		return 0
	case i >= uint64(len(t.first)):
		return numStepBins - 1
	}
	b := int(t.first[i])
	if d >= t.inside[i] {
		b++
	}
	return b
}

// stepMeter accumulates the histogram of a tower's per-step moves.
type stepMeter struct {
	tower   []nn.Named
	offsets []int // tower tensor i is prev[offsets[i]:offsets[i+1]]
	prev    []float32
	hist    [numStepBins]int64
	zero    int64
	total   int64
	max     float64
	steps   int
}

func newStepMeter(m *vlp.CLIP) *stepMeter {
	s := &stepMeter{tower: rst.ImageTower(m)}
	s.offsets = make([]int, len(s.tower)+1)
	for i, p := range s.tower {
		s.offsets[i+1] = s.offsets[i] + p.Tensor.Numel()
	}
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

// observe counts the moves since the last call. The tensors are split
// across the kernels' threads, each with its own counts; the sums and the
// maximum do not depend on the split.
func (s *stepMeter) observe() {
	var mu sync.Mutex
	kernels.ParallelFor(len(s.tower), 1, func(lo, hi int) {
		var part stepMeter
		for i := lo; i < hi; i++ {
			part.count(s.tower[i].Tensor.Data(), s.prev[s.offsets[i]:s.offsets[i+1]])
		}
		mu.Lock()
		defer mu.Unlock()
		for b, n := range part.hist {
			s.hist[b] += n
		}
		s.zero += part.zero
		s.total += part.total
		s.max = max(s.max, part.max)
	})
	s.steps++
}

// count adds the moves from prev to cur into s's counts and sets prev to cur.
func (s *stepMeter) count(cur, prev []float32) {
	bins := stepLookup()
	for k, v := range cur {
		d := math.Abs(float64(v) - float64(prev[k]))
		prev[k] = v
		s.total++
		if d == 0 {
			s.zero++
			continue
		}
		s.max = max(s.max, d)
		s.hist[bins.bin(d)]++
	}
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
				return detmath.Pow(10, stepLo+float64(b+1)/stepBins)
			}
		}
		return s.max
	}
	return &StepSizes{
		Steps: s.steps, Zero: float64(s.zero) / float64(s.total),
		P50: q(0.5), P90: q(0.9), P99: q(0.99), P999: q(0.999), Max: s.max,
	}
}
