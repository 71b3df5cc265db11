package nn

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// param returns a parameter holding w with gradient g.
func param(w, g []float32) *tensor.Tensor {
	p := tensor.New(append([]float32(nil), w...), len(w)).SetRequiresGrad(true)
	tensor.Sum(tensor.Mul(p, tensor.New(append([]float32(nil), g...), len(g)))).Backward()
	return p
}

func TestSGDMatchesPyTorchRule(t *testing.T) {
	// Two steps by hand with lr 0.1, momentum 0.9, weight decay 0.01, for w=1, g=0.5:
	// step 1: d = 0.5+0.01 = 0.51; buf = 0.51; nesterov d = 0.51+0.9·0.51 = 0.969; w = 1−0.0969 = 0.9031
	// step 2: d = 0.5+0.009031 = 0.509031; buf = 0.9·0.51+0.509031 = 0.968031;
	//         nesterov d = 0.509031+0.9·0.968031 = 1.3802589; w = 0.9031−0.13802589 = 0.76507411
	tests := []struct {
		name     string
		nesterov bool
		want     [2]float64
	}{
		{"nesterov", true, [2]float64{0.9031, 0.76507411}},
		// plain momentum: w1 = 1−0.051 = 0.949; step 2: d = 0.5+0.00949, buf = 0.459+0.50949 = 0.96849; w2 = 0.949−0.096849
		{"momentum", false, [2]float64{0.949, 0.852151}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := param([]float32{1}, []float32{0.5})
			opt := &SGD{Groups: []ParamGroup{{Params: []*tensor.Tensor{p}, LR: 0.2, WeightDecay: 0.01}}, Momentum: 0.9, Nesterov: tt.nesterov}
			for step := range 2 {
				opt.Step(0.5) // factor 0.5 on base 0.2: lr 0.1
				if got := p.Data()[0]; math.Abs(float64(got)-tt.want[step]) > 1e-6 {
					t.Fatalf("step %d: w = %.8f, want %.8f", step+1, got, tt.want[step])
				}
			}
		})
	}
}

func TestSGDGroupsAndState(t *testing.T) {
	a, b := param([]float32{1, 1}, []float32{1, 2}), param([]float32{1}, []float32{1})
	opt := &SGD{Groups: []ParamGroup{{Params: []*tensor.Tensor{a}, LR: 0.1}, {Params: []*tensor.Tensor{b}, LR: 1}}, Momentum: 0.5}
	opt.Step(1)
	if got := a.Data(); got[0] != 0.9 || math.Abs(float64(got[1])-0.8) > 1e-7 {
		t.Errorf("group 0: %v, want [0.9 0.8]", got)
	}
	if got := b.Data()[0]; got != 0 {
		t.Errorf("group 1: %v, want 0", got)
	}
	st := opt.State()
	fresh := &SGD{Groups: opt.Groups, Momentum: 0.5}
	if err := fresh.SetState(st); err != nil {
		t.Fatal(err)
	}
	opt.Step(1)
	a2 := a.Data()[1]
	a.Data()[1] = 0.8 // undo and replay with the restored optimiser
	fresh.Step(1)
	if a.Data()[1] != a2 {
		t.Errorf("restored optimiser stepped to %v, original to %v", a.Data()[1], a2)
	}
	if err := fresh.SetState(st[:1]); err == nil {
		t.Errorf("SetState accepted a short state")
	}
}

func TestAdamWFirstStep(t *testing.T) {
	// After bias correction the first Adam step is lr·g/(|g|+eps) = lr·sign(g),
	// after the decoupled decay w·(1−lr·wd).
	p := param([]float32{2, -1}, []float32{0.3, -4})
	opt := &AdamW{Groups: []ParamGroup{{Params: []*tensor.Tensor{p}, LR: 0.01, WeightDecay: 0.1}}}
	opt.Step(1)
	want := []float64{2*(1-0.001) - 0.01, -1*(1-0.001) + 0.01}
	for i, w := range p.Data() {
		if math.Abs(float64(w)-want[i]) > 1e-6 {
			t.Errorf("w[%d] = %.7f, want %.7f", i, w, want[i])
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := param([]float32{0, 0}, []float32{3, 0}), param([]float32{0}, []float32{4})
	norm := ClipGradNorm([]*tensor.Tensor{a, b}, 1)
	if math.Abs(norm-5) > 1e-6 {
		t.Errorf("norm %v, want 5", norm)
	}
	if g := a.Grad().Data()[0]; math.Abs(float64(g)-0.6) > 1e-5 {
		t.Errorf("clipped grad %v, want 0.6", g)
	}
	if n := ClipGradNorm([]*tensor.Tensor{a, b}, 10); math.Abs(n-1) > 1e-5 {
		t.Errorf("second norm %v, want 1", n)
	}
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"inverse-0", InverseDecay{Gamma: 0.001, Power: 0.75}, 0, 1},
		{"inverse-1000", InverseDecay{Gamma: 0.001, Power: 0.75}, 1000, math.Pow(2, -0.75)},
		{"constant", Constant{}, 123, 1},
		{"warmup-start", WarmupCosine{Warmup: 9, Total: 100}, 0, 0.1},
		{"warmup-end", WarmupCosine{Warmup: 9, Total: 109}, 9, 1},
		{"cosine-mid", WarmupCosine{Warmup: 0, Total: 100, MinFactor: 0.2}, 50, 0.6},
		{"cosine-after", WarmupCosine{Warmup: 0, Total: 100, MinFactor: 0.2}, 500, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Factor(tt.step); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Factor(%d) = %v, want %v", tt.step, got, tt.want)
			}
		})
	}
}
