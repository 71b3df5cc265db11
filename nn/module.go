package nn

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
)

// A Module is a layer or a model. Params calls visit for each of the
// module's own parameters (not its children's) with its local name.
type Module interface {
	Params(visit func(name string, p *tensor.Tensor))
}

// A Parent is a module with submodules. Children calls visit for each direct
// submodule with the name that prefixes its parameters ("attn", "resblocks.0").
type Parent interface {
	Module
	Children(visit func(name string, m Module))
}

// A Buffered module holds tensors that are state but not parameters, such as
// BatchNorm's running statistics. They are saved and loaded with the
// parameters but never trained.
type Buffered interface {
	Buffers(visit func(name string, b *tensor.Tensor))
}

// A Moded module behaves differently in training and in evaluation
// (Dropout, BatchNorm).
type Moded interface {
	SetTraining(on bool)
}

// Walk calls fn for m and every module below it, depth first in the order
// Children lists them, with each module's dotted path ("" for m).
func Walk(m Module, fn func(path string, m Module)) {
	walk("", m, fn)
}

func walk(path string, m Module, fn func(string, Module)) {
	fn(path, m)
	if p, ok := m.(Parent); ok {
		p.Children(func(name string, c Module) {
			walk(join(path, name), c, fn)
		})
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Named is a tensor with its dotted state-dict name.
type Named struct {
	Name   string
	Tensor *tensor.Tensor
}

// NamedParams returns every parameter of m with its dotted name, in a
// deterministic order.
func NamedParams(m Module) []Named {
	var out []Named
	Walk(m, func(path string, m Module) {
		m.Params(func(name string, p *tensor.Tensor) {
			out = append(out, Named{join(path, name), p})
		})
	})
	return out
}

// NamedBuffers returns every buffer of m with its dotted name.
func NamedBuffers(m Module) []Named {
	var out []Named
	Walk(m, func(path string, m Module) {
		if b, ok := m.(Buffered); ok {
			b.Buffers(func(name string, t *tensor.Tensor) {
				out = append(out, Named{join(path, name), t})
			})
		}
	})
	return out
}

// Params returns the parameters of m without their names.
func Params(m Module) []*tensor.Tensor {
	var out []*tensor.Tensor
	for _, p := range NamedParams(m) {
		out = append(out, p.Tensor)
	}
	return out
}

// StateDict returns the parameters and buffers of m by dotted name, sharing
// their storage.
func StateDict(m Module) map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	for _, p := range NamedParams(m) {
		sd[p.Name] = p.Tensor
	}
	for _, b := range NamedBuffers(m) {
		sd[b.Name] = b.Tensor
	}
	return sd
}

// SetTraining puts every Moded module in m into training (on) or evaluation mode.
func SetTraining(m Module, on bool) {
	Walk(m, func(_ string, m Module) {
		if s, ok := m.(Moded); ok {
			s.SetTraining(on)
		}
	})
}

// SetRequiresGrad marks every parameter of m as trainable (on) or frozen.
func SetRequiresGrad(m Module, on bool) {
	for _, p := range Params(m) {
		p.SetRequiresGrad(on)
	}
}

// CountParams returns the number of parameter elements of m.
func CountParams(m Module) int {
	n := 0
	for _, p := range Params(m) {
		n += p.Numel()
	}
	return n
}

// LoadStateDict copies values into m's parameters and buffers by name.
// Every tensor of m must be present with the same number of elements and
// shape (a shape that differs only by dimensions of size 1 is accepted, as
// CLIP stores some vectors as (1,1,D)); extra entries in values are an error
// unless allowExtra is set. Nothing is changed when an error is returned.
func LoadStateDict(m Module, values map[string]*tensor.Tensor, allowExtra bool) error {
	shapes := make(map[string][]int, len(values))
	for name, t := range values {
		shapes[name] = t.Shape()
	}
	if err := CheckStateDict(m, shapes, allowExtra); err != nil {
		return err
	}
	for name, dst := range StateDict(m) {
		copy(dst.Data(), values[name].Values())
	}
	return nil
}

// CheckStateDict reports whether a state dict with the given shapes by
// name would load into m, as LoadStateDict checks it, before any value is
// read: the error names every missing, misshapen and (unless allowExtra)
// unexpected tensor.
func CheckStateDict(m Module, shapes map[string][]int, allowExtra bool) error {
	sd := StateDict(m)
	var missing, bad []string
	for name, dst := range sd {
		shape, ok := shapes[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		if !sameSqueezed(dst.Shape(), shape) {
			bad = append(bad, fmt.Sprintf("%s: shape %s, want %s", name, shapefmt.String(shape), shapefmt.String(dst.Shape())))
		}
	}
	var extra []string
	if !allowExtra {
		for name := range shapes {
			if _, ok := sd[name]; !ok {
				extra = append(extra, name)
			}
		}
	}
	if len(missing)+len(bad)+len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(bad)
		slices.Sort(extra)
		return fmt.Errorf("nn: load state dict: %s", describeMismatch(missing, bad, extra))
	}
	return nil
}

func describeMismatch(missing, bad, extra []string) string {
	var parts []string
	list := func(what string, xs []string) {
		if len(xs) == 0 {
			return
		}
		shown := xs
		if len(shown) > 5 {
			shown = shown[:5]
		}
		s := fmt.Sprintf("%d %s: %v", len(xs), what, shown)
		if len(xs) > 5 {
			s += " …"
		}
		parts = append(parts, s)
	}
	list("missing", missing)
	list("with the wrong shape", bad)
	list("unexpected", extra)
	return fmt.Sprint(parts)
}

// sameSqueezed reports whether two shapes are equal once dimensions of size 1
// are dropped.
func sameSqueezed(a, b []int) bool {
	squeeze := func(s []int) []int {
		var out []int
		for _, d := range s {
			if d != 1 {
				out = append(out, d)
			}
		}
		return out
	}
	return slices.Equal(squeeze(a), squeeze(b))
}
