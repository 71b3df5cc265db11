package nn

import (
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// pair is a two-layer test model with a buffer.
type pair struct {
	First, Second *Linear
	Scale         *tensor.Tensor
	Count         *tensor.Tensor
}

func (p *pair) Params(visit func(string, *tensor.Tensor)) { visit("scale", p.Scale) }
func (p *pair) Children(visit func(string, Module)) {
	visit("fc1", p.First)
	visit("fc2", p.Second)
}
func (p *pair) Buffers(visit func(string, *tensor.Tensor)) { visit("count", p.Count) }

func newPair() *pair {
	rng := tensor.NewRNG(1)
	return &pair{First: NewLinear(rng, 3, 4, true), Second: NewLinear(rng, 4, 2, false), Scale: tensor.Ones(1, 1, 2), Count: tensor.Zeros(1)}
}

func TestNamedParamsFollowStateDictNames(t *testing.T) {
	m := newPair()
	var names []string
	for _, p := range NamedParams(m) {
		names = append(names, p.Name)
	}
	want := []string{"scale", "fc1.weight", "fc1.bias", "fc2.weight"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if n := CountParams(m); n != 2+12+4+8 {
		t.Errorf("CountParams = %d, want 26", n)
	}
	if sd := StateDict(m); len(sd) != 5 || sd["count"] != m.Count {
		t.Errorf("StateDict has %d entries / wrong buffer", len(sd))
	}
}

func TestLoadStateDict(t *testing.T) {
	src, dst := newPair(), &pair{First: NewLinear(tensor.NewRNG(9), 3, 4, true), Second: NewLinear(tensor.NewRNG(9), 4, 2, false), Scale: tensor.Zeros(1, 1, 2), Count: tensor.Zeros(1)}
	values := StateDict(src)
	values["scale"] = tensor.Full(3, 2) // (2) loads into (1,1,2)
	if err := LoadStateDict(dst, values, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dst.First.Weight.Data(), src.First.Weight.Data()) || dst.Scale.Data()[1] != 3 {
		t.Errorf("values were not copied")
	}

	tests := []struct {
		name   string
		edit   func(map[string]*tensor.Tensor)
		errHas string
	}{
		{"missing", func(v map[string]*tensor.Tensor) { delete(v, "fc2.weight") }, "1 missing: [fc2.weight]"},
		{"shape", func(v map[string]*tensor.Tensor) { v["fc1.bias"] = tensor.Zeros(5) }, "fc1.bias: shape [5], want [4]"},
		{"extra", func(v map[string]*tensor.Tensor) { v["fc3.weight"] = tensor.Zeros(1) }, "1 unexpected: [fc3.weight]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := StateDict(newPair())
			tt.edit(v)
			before := slices.Clone(dst.First.Weight.Data())
			err := LoadStateDict(dst, v, false)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %v, want it to mention %q", err, tt.errHas)
			}
			if !slices.Equal(before, dst.First.Weight.Data()) {
				t.Errorf("a failed load changed the model")
			}
		})
	}
}
