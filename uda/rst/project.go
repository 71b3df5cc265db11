package rst

import (
	"fmt"
	"math"
	"slices"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
)

// segLen is the longest run of one parameter that a worker handles at a
// time. Splitting every parameter into such segments lets one parallel loop
// cover a model whose tensors range from a 768-element bias to a 2.4 M
// element matrix, with the same chunk boundaries on every run.
// The budget search notes offsets within a segment as uint16.
const segLen = 1 << 16

// parallelMin is the number of elements below which a pass over all
// parameters stays on the calling goroutine.
const parallelMin = 1 << 17

// A segment is elements [lo, hi) of parameter p.
type segment struct {
	p, lo, hi int
}

// Projector performs RST's projection (paper Eqs. 15–17, the authors'
// models/rst.py): it holds a private copy w0 of a set of parameters, taken
// when it is made, and after each optimiser step resets every element whose
// distance from w0 is at most τ back to w0 exactly.
//
// A Projector is not safe for concurrent use.
type Projector struct {
	params []nn.Named
	base   [][]float32 // w0 of params[i]
	segs   []segment
	numel  int
	tau    float32
	budget int // most elements that may differ from w0; -1 for no limit

	fp *Fingerprint // of w0, computed when first needed

	// Scratch space of the budget search, kept between steps.
	kept  [][]uint16 // offsets of the kept elements in each segment
	diffs []uint32   // bits of their |w − w0|
	hist  []int      // radix-select histogram
}

// New returns a Projector for params that snapshots their current values
// as w0 (call it on the pre-trained weights, before the first step; on
// resume, build it from the base checkpoint and then load the trained
// weights). Elements with |w − w0| ≤ tau are reset; tau must be finite and
// non-negative. The names identify the tensors in residual files; use the
// same names when the residual is applied, such as those of [ImageTower].
//
// New panics if a name repeats or a tensor is not contiguous.
func New(params []nn.Named, tau float32) *Projector {
	p := &Projector{params: slices.Clone(params), budget: -1}
	p.SetTau(tau)
	seen := make(map[string]bool, len(params))
	for i, prm := range params {
		if seen[prm.Name] {
			panic(fmt.Sprintf("rst: New: parameter %q listed twice", prm.Name))
		}
		seen[prm.Name] = true
		w := prm.Tensor.Data()
		p.base = append(p.base, slices.Clone(w))
		for lo := 0; lo < len(w); lo += segLen {
			p.segs = append(p.segs, segment{i, lo, min(lo+segLen, len(w))})
		}
		p.numel += len(w)
	}
	return p
}

// Tau returns the threshold τ.
func (p *Projector) Tau() float32 { return p.tau }

// SetTau changes the threshold τ for the following calls to Project. A τ
// schedule (the paper's segmentation appendix raises τ during training)
// calls it before each Project. It panics if tau is negative or not finite.
func (p *Projector) SetTau(tau float32) {
	if !(tau >= 0) || math.IsInf(float64(tau), 1) {
		panic(fmt.Sprintf("rst: SetTau: threshold %g is not a finite non-negative number", tau))
	}
	p.tau = tau
}

// SetMaxDensity limits the fraction of elements that may differ from w0
// after Project to at most d, for a predictable residual size: when more
// than ⌊d·N⌋ of the N elements are past τ, Project raises the threshold for
// that step to the smallest value that keeps at most ⌊d·N⌋ of them, so only
// the largest |w − w0| survive (a global top-k over all parameters; ties
// at the cut are all reset). d = 0 turns the limit off; it panics unless
// 0 ≤ d ≤ 1.
func (p *Projector) SetMaxDensity(d float64) {
	if !(d >= 0 && d <= 1) {
		panic(fmt.Sprintf("rst: SetMaxDensity: density %g is not in [0, 1]", d))
	}
	p.budget = -1
	if d > 0 {
		p.budget = int(d * float64(p.numel))
	}
}

// Numel returns the number of elements the Projector covers.
func (p *Projector) Numel() int { return p.numel }

// Project resets, in every parameter, each element with |w − w0| ≤ τ to
// w0 exactly, keeping the elements with |w − w0| > τ as the authors' code
// does (a NaN difference is reset, as there). It returns the number of
// elements that differ from w0 afterwards; with SetMaxDensity, at most the
// budget. It touches only the weights: optimiser state such as SGD's
// momentum is left alone, as in the paper.
func (p *Projector) Project() int {
	if p.budget < 0 {
		counts := make([]int, len(p.segs))
		p.forSegments(func(s int, sg segment) {
			counts[s] = projectSlice(p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi], p.tau)
		})
		return sum(counts)
	}
	// With a budget, the pass also notes where the kept elements are, so
	// that the top-k search and the second reset visit only those.
	if p.kept == nil {
		p.kept = make([][]uint16, len(p.segs))
	}
	p.forSegments(func(s int, sg segment) {
		p.kept[s] = projectSliceNote(p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi], p.tau, p.kept[s][:0])
	})
	kept := 0
	for _, k := range p.kept {
		kept += len(k)
	}
	if kept <= p.budget {
		return kept
	}
	return p.enforceBudget()
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// projectSlice sets w[i] = w0[i] where |w[i] − w0[i]| ≤ tau (or the
// difference is NaN) and returns the number of other elements. The
// difference is taken in float32, as PyTorch computes it. Elements already
// equal to w0 are not written, so untouched memory stays clean.
func projectSlice(w, w0 []float32, tau float32) int {
	w0 = w0[:len(w)]
	kept := 0
	for i, v := range w {
		b := w0[i]
		if abs32(v-b) > tau {
			kept++
		} else if math.Float32bits(v) != math.Float32bits(b) {
			w[i] = b
		}
	}
	return kept
}

// projectSliceNote is projectSlice that appends the offsets of the kept
// elements to kept (len(w) ≤ segLen) and returns it.
func projectSliceNote(w, w0 []float32, tau float32, kept []uint16) []uint16 {
	w0 = w0[:len(w)]
	for i, v := range w {
		b := w0[i]
		if abs32(v-b) > tau {
			kept = append(kept, uint16(i))
		} else if math.Float32bits(v) != math.Float32bits(b) {
			w[i] = b
		}
	}
	return kept
}

func abs32(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}

// forSegments calls fn for every segment, in parallel when the parameters
// are large enough.
func (p *Projector) forSegments(fn func(s int, sg segment)) {
	run := func(lo, hi int) {
		for s := lo; s < hi; s++ {
			fn(s, p.segs[s])
		}
	}
	if p.numel < parallelMin {
		run(0, len(p.segs))
		return
	}
	kernels.ParallelFor(len(p.segs), 1, run)
}

// enforceBudget resets all but the p.budget largest |w − w0| among the
// elements that Project noted as kept, and returns how many remain. The
// cut t is the (budget+1)-th largest |w − w0|: everything above it stays,
// so ties at the cut are all reset.
func (p *Projector) enforceBudget() int {
	p.diffs = p.diffs[:0]
	for s, sg := range p.segs {
		w, w0 := p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi]
		for _, i := range p.kept[s] {
			p.diffs = append(p.diffs, math.Float32bits(abs32(w[i]-w0[i])))
		}
	}
	cut := math.Float32frombits(p.largest(p.diffs, p.budget))
	kept := 0
	for s, sg := range p.segs {
		w, w0 := p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi]
		for _, i := range p.kept[s] {
			if abs32(w[i]-w0[i]) > cut {
				kept++
			} else {
				w[i] = w0[i]
			}
		}
	}
	return kept
}

// largest returns the element of rank r (0 for the largest) of u, by a
// radix select on 16-bit digits: non-negative floats order like their bits.
func (p *Projector) largest(u []uint32, r int) uint32 {
	if p.hist == nil {
		p.hist = make([]int, 1<<16)
	}
	h := p.hist
	find := func() uint32 {
		for b := len(h) - 1; b >= 0; b-- {
			if r < h[b] {
				return uint32(b)
			}
			r -= h[b]
		}
		panic("rst: budget search: rank beyond the elements")
	}
	clear(h)
	for _, x := range u {
		h[x>>16]++
	}
	hi := find()
	clear(h)
	for _, x := range u {
		if x>>16 == hi {
			h[x&0xffff]++
		}
	}
	return hi<<16 | find()
}

// Density counts, per parameter and in total, the elements that differ
// from w0.
type Density struct {
	Params  []ParamDensity
	NonZero int // elements of w − w0 that are not zero
	Numel   int // elements in all
}

// ParamDensity is the density of w − w0 in one parameter.
type ParamDensity struct {
	Name    string
	NonZero int
	Numel   int
}

// Fraction returns NonZero/Numel, or 0 when there are no elements.
func (d Density) Fraction() float64 {
	if d.Numel == 0 {
		return 0
	}
	return float64(d.NonZero) / float64(d.Numel)
}

// Density counts the elements whose bits differ from w0, per parameter in
// the order given to New, in one parallel pass over the weights (after
// Project these are exactly the elements with |w − w0| > τ).
func (p *Projector) Density() Density {
	counts := make([]int, len(p.segs))
	p.forSegments(func(s int, sg segment) {
		counts[s] = countChanged(p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi])
	})
	d := Density{Params: make([]ParamDensity, len(p.params)), Numel: p.numel}
	for i, prm := range p.params {
		d.Params[i] = ParamDensity{Name: prm.Name, Numel: len(p.base[i])}
	}
	for s, sg := range p.segs {
		d.Params[sg.p].NonZero += counts[s]
		d.NonZero += counts[s]
	}
	return d
}

// countChanged returns the number of elements of w whose bits differ from
// those of w0.
func countChanged(w, w0 []float32) int {
	w0 = w0[:len(w)]
	n := 0
	for i, v := range w {
		if math.Float32bits(v) != math.Float32bits(w0[i]) {
			n++
		}
	}
	return n
}
