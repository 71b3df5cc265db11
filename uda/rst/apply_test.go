package rst

import (
	"errors"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// TestMultiTask evaluates three tasks on one copy of the base weights:
// each Apply gives that task's trained weights bit for bit and each Revert
// the base weights bit for bit, in any order and repeatedly, through files.
func TestMultiTask(t *testing.T) {
	tasks := []*task{newTask(t, 21), newTask(t, 22), newTask(t, 23)}
	dir := t.TempDir()
	var residuals []*Residual
	for i, tk := range tasks {
		path := dir + "/" + string(rune('a'+i)) + ".vlpr"
		if err := WriteFile(path, tk.p.Residual(Float32, nil, nil), false); err != nil {
			t.Fatal(err)
		}
		r, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		residuals = append(residuals, r)
	}
	params := tasks[0].freshBase()
	b := NewBase(params)
	for _, k := range []int{0, 1, 2, 1, 0, 2, 2} {
		if err := b.Apply(residuals[k]); err != nil {
			t.Fatalf("task %d: %v", k, err)
		}
		if !b.Applied() {
			t.Errorf("Applied() = false after Apply")
		}
		sameBits(t, "task applied", params, tasks[k].trained)
		b.Revert()
		sameBits(t, "task reverted", params, tasks[0].base)
	}
	// A lossy residual reverts exactly too: Revert restores the saved base
	// values, it does not subtract.
	if err := b.Apply(tasks[1].p.Residual(Float16, nil, nil)); err != nil {
		t.Fatal(err)
	}
	b.Revert()
	sameBits(t, "float16 task reverted", params, tasks[0].base)
	if b.Applied() {
		t.Errorf("Applied() = true after Revert")
	}
}

// TestApplyBadInput checks that Apply refuses a residual for another base,
// a tensor the base lacks, a shape that differs, or an index out of range,
// without changing any weight.
func TestApplyBadInput(t *testing.T) {
	tk := newTask(t, 31)
	good := func() *Residual { return tk.p.Residual(Float32, nil, nil) }
	other := randomParams(tensor.NewRNG(99), taskShapes...)
	tests := []struct {
		name   string
		base   []nn.Named
		r      func() *Residual
		target error
		errHas string
	}{
		{"different base model", other, good, ErrBaseMismatch,
			"residual was made for a different base model: fingerprint " + tk.p.Fingerprint().String() + ", this base has " + FingerprintOf(other).String()},
		{"unknown tensor", nil, func() *Residual {
			r := good()
			r.Sparse = append(r.Sparse, Sparse{Name: "visual.proj", Shape: []int{2}})
			return r
		}, nil, `residual tensor "visual.proj" is not in the base model`},
		{"shape mismatch", nil, func() *Residual {
			r := good()
			find(r, "layer0.weight").Shape = []int{25, 40} // it is (40,25)
			return r
		}, nil, `tensor "layer0.weight" has shape (25,40) in the residual, (40,25) in the base model`},
		{"index out of range", nil, func() *Residual {
			r := good()
			s := find(r, "layer0.weight")
			s.Index[len(s.Index)-1] = 1000
			return r
		}, nil, `index 1000 out of range for shape (40,25)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := tt.base
			want := snapshot(params)
			if params == nil {
				params = tk.freshBase()
				want = tk.base
			}
			b := NewBase(params)
			err := b.Apply(tt.r())
			if err == nil || (tt.target != nil && !errors.Is(err, tt.target)) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Apply error %v; want one with %q", err, tt.errHas)
			}
			sameBits(t, "after a refused Apply", params, want)
			if b.Applied() {
				t.Errorf("Applied() = true after a refused Apply")
			}
		})
	}
}

// find returns r's sparse tensor called name.
func find(r *Residual, name string) *Sparse {
	for i := range r.Sparse {
		if r.Sparse[i].Name == name {
			return &r.Sparse[i]
		}
	}
	panic("no sparse tensor " + name)
}

func TestApplyTwicePanics(t *testing.T) {
	tk := newTask(t, 41)
	b := NewBase(tk.freshBase())
	if err := b.Apply(tk.p.Residual(Float32, nil, nil)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "Revert it first") {
			t.Errorf("second Apply: recovered %v, want a panic asking for Revert", r)
		}
	}()
	b.Apply(tk.p.Residual(Float32, nil, nil))
}
