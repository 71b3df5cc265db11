package rst

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp"
)

// Encoding says how a residual stores its sparse values.
type Encoding uint8

const (
	// Float32 stores the trained value w of every changed element, so
	// that applying the residual gives the trained weights bit for bit.
	Float32 Encoding = iota
	// Float16 stores the difference w − w0 of every changed element as an
	// IEEE binary16 scaled by a power of two per tensor. It is lossy:
	// applying gives w0 + δ̂ with δ̂ within about 2⁻¹¹·|w − w0| of the
	// true difference.
	Float16
)

// String returns "float32" or "float16".
func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	}
	return fmt.Sprintf("Encoding(%d)", e)
}

// Residual is one task's change to a base model: the elements of the base
// tensors that training changed (sparse), and tensors that are not part of
// the base and are stored whole (dense), such as the task head.
type Residual struct {
	// Base is the fingerprint of the base tensors the residual applies to.
	Base Fingerprint
	// Encoding says what Sparse values hold and how they are stored.
	Encoding Encoding
	// Sparse lists the changed elements of base tensors, one entry per base
	// tensor (tensors that did not change have no indices).
	Sparse []Sparse
	// Dense lists tensors stored whole.
	Dense []Tensor
	// Meta holds free-form information about the task (data set, method,
	// τ, class names), written and read back unchanged.
	Meta map[string]string
}

// Sparse is the changed elements of one base tensor.
type Sparse struct {
	Name  string
	Shape []int
	// Index holds the row-major flat indices of the changed elements, in
	// increasing order.
	Index []int
	// Values holds, for each index, the trained value w when the residual's
	// Encoding is Float32, or the difference w − w0 when it is Float16.
	Values []float32
}

// Tensor is a tensor stored whole.
type Tensor struct {
	Name   string
	Shape  []int
	Values []float32 // row-major
}

// Errors of reading and applying residuals; the errors returned wrap one of
// these, to be tested with errors.Is.
var (
	// ErrFormat means the data is not a residual this package can read
	// (bad magic, unsupported version or flags, malformed content).
	ErrFormat = errors.New("not a valid residual")
	// ErrTruncated means the file ends before the length its header gives.
	ErrTruncated = errors.New("truncated")
	// ErrChecksum means the content does not match its CRC-32C.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrBaseMismatch means the residual was made for other base weights.
	ErrBaseMismatch = errors.New("residual was made for a different base model")
)

// ImageTower returns the parameters of m's image tower under their CLIP
// state-dict names ("visual.conv1.weight", …), the tensors RST trains and
// residuals of CLIP tasks refer to.
func ImageTower(m *vlp.CLIP) []nn.Named {
	var out []nn.Named
	for _, p := range nn.NamedParams(m.Visual) {
		out = append(out, nn.Named{Name: "visual." + p.Name, Tensor: p.Tensor})
	}
	return out
}

// DenseTensors copies named tensors, such as a task head's parameters and
// buffers (nn.StateDict), for a residual's Dense list, in name order.
func DenseTensors(named []nn.Named) []Tensor {
	out := make([]Tensor, len(named))
	for i, n := range named {
		out[i] = Tensor{Name: n.Name, Shape: slices.Clone(n.Tensor.Shape()), Values: n.Tensor.Values()}
	}
	slices.SortFunc(out, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// DenseStateDict returns the dense tensors by name as new tensors, for
// nn.LoadStateDict into the task head.
func (r *Residual) DenseStateDict() map[string]*tensor.Tensor {
	sd := make(map[string]*tensor.Tensor, len(r.Dense))
	for _, t := range r.Dense {
		sd[t.Name] = tensor.New(slices.Clone(t.Values), t.Shape...)
	}
	return sd
}

// NonZero returns the number of stored sparse elements.
func (r *Residual) NonZero() int {
	n := 0
	for _, s := range r.Sparse {
		n += len(s.Index)
	}
	return n
}

// Residual returns the current change from w0: for every parameter, in
// name order, the elements whose bits differ from w0, with their trained
// values (enc Float32) or their differences w − w0 computed in float32
// (enc Float16). dense and meta are stored as given (see DenseTensors).
func (p *Projector) Residual(enc Encoding, dense []Tensor, meta map[string]string) *Residual {
	if enc != Float32 && enc != Float16 {
		panic(fmt.Sprintf("rst: Residual: unknown encoding %d", enc))
	}
	// Count per segment, then fill each segment's share of the index and
	// value slices in parallel.
	counts := make([]int, len(p.segs))
	p.forSegments(func(s int, sg segment) {
		counts[s] = countChanged(p.params[sg.p].Tensor.Data()[sg.lo:sg.hi], p.base[sg.p][sg.lo:sg.hi])
	})
	offset := make([]int, len(p.segs)) // of each segment within its parameter
	total := make([]int, len(p.params))
	for s, sg := range p.segs {
		offset[s] = total[sg.p]
		total[sg.p] += counts[s]
	}
	sparse := make([]Sparse, len(p.params))
	for i, prm := range p.params {
		sparse[i] = Sparse{Name: prm.Name, Shape: slices.Clone(prm.Tensor.Shape()),
			Index: make([]int, total[i]), Values: make([]float32, total[i])}
	}
	p.forSegments(func(s int, sg segment) {
		w := p.params[sg.p].Tensor.Data()[sg.lo:sg.hi]
		w0 := p.base[sg.p][sg.lo:sg.hi]
		idx := sparse[sg.p].Index[offset[s] : offset[s]+counts[s]]
		val := sparse[sg.p].Values[offset[s] : offset[s]+counts[s]]
		k := 0
		for i, v := range w {
			if math.Float32bits(v) != math.Float32bits(w0[i]) {
				idx[k] = sg.lo + i
				if enc == Float16 {
					v -= w0[i]
				}
				val[k] = v
				k++
			}
		}
	})
	slices.SortFunc(sparse, func(a, b Sparse) int { return cmp.Compare(a.Name, b.Name) })
	return &Residual{Base: p.Fingerprint(), Encoding: enc, Sparse: sparse, Dense: dense, Meta: meta}
}

// CheckBase returns an error wrapping ErrBaseMismatch if the residual was
// made for base weights other than those with fingerprint fp.
func (r *Residual) CheckBase(fp Fingerprint) error {
	if r.Base != fp {
		return fmt.Errorf("rst: %w: fingerprint %s, this base has %s", ErrBaseMismatch, r.Base, fp)
	}
	return nil
}

// validate checks what the file format and Apply rely on: known encoding,
// valid unique names, shapes matching the data, indices increasing and in
// range.
func (r *Residual) validate() error {
	if r.Encoding != Float32 && r.Encoding != Float16 {
		return fmt.Errorf("unknown encoding %d", r.Encoding)
	}
	seen := map[string]bool{}
	checkName := func(name string) error {
		switch {
		case name == "":
			return errors.New("a tensor has no name")
		case seen[name]:
			return fmt.Errorf("tensor %q listed twice", name)
		}
		seen[name] = true
		return nil
	}
	for _, s := range r.Sparse {
		if err := checkName(s.Name); err != nil {
			return err
		}
		n, err := numel(s.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", s.Name, err)
		}
		if len(s.Values) != len(s.Index) {
			return fmt.Errorf("tensor %q: %d values for %d indices", s.Name, len(s.Values), len(s.Index))
		}
		for k, i := range s.Index {
			if i < 0 || i >= n {
				return fmt.Errorf("tensor %q: index %d out of range for shape %s (%d elements)", s.Name, i, shapeString(s.Shape), n)
			}
			if k > 0 && i <= s.Index[k-1] {
				return fmt.Errorf("tensor %q: indices not increasing (%d after %d)", s.Name, i, s.Index[k-1])
			}
		}
	}
	for _, t := range r.Dense {
		if err := checkName(t.Name); err != nil {
			return err
		}
		n, err := numel(t.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if len(t.Values) != n {
			return fmt.Errorf("dense tensor %q: %d values for shape %s", t.Name, len(t.Values), shapeString(t.Shape))
		}
	}
	for k := range r.Meta {
		if k == "" {
			return errors.New("empty metadata key")
		}
	}
	return nil
}

// maxNumel bounds the element count of one tensor, so that index
// arithmetic cannot overflow: 2⁴⁰, or an eighth of the address space on
// 32-bit targets.
const maxNumel = min(1<<40, math.MaxInt/8)

// numel returns the element count of shape, or an error for a negative
// dimension or an absurd size.
func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || d > maxNumel {
			return 0, fmt.Errorf("bad dimension in shape %s", shapeString(shape))
		}
		if d != 0 && n > maxNumel/d {
			return 0, fmt.Errorf("shape %s has more than 2^40 elements", shapeString(shape))
		}
		n *= d
	}
	return n, nil
}

// shapeString formats a shape for messages: "(2,3,4)", short at any rank.
func shapeString(shape []int) string { return shapefmt.Tuple(shape) }
