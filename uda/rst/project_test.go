package rst

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// toyModel is a two-layer classifier, fc2(tanh(ln(fc1(x)))), standing in
// for an image tower.
type toyModel struct {
	fc1, fc2 *nn.Linear
	ln       *nn.LayerNorm
}

func newToyModel(seed uint64) *toyModel {
	rng := tensor.NewRNG(seed)
	return &toyModel{fc1: nn.NewLinear(rng, 12, 24, true), ln: nn.NewLayerNorm(24, 1e-5), fc2: nn.NewLinear(rng, 24, 5, true)}
}

func (m *toyModel) Params(func(string, *tensor.Tensor)) {}

func (m *toyModel) Children(visit func(string, nn.Module)) {
	visit("fc1", m.fc1)
	visit("ln", m.ln)
	visit("fc2", m.fc2)
}

func (m *toyModel) forward(x *tensor.Tensor) *tensor.Tensor {
	return m.fc2.Forward(tensor.Tanh(m.ln.Forward(m.fc1.Forward(x))))
}

// snapshot copies the values of params.
func snapshot(params []nn.Named) [][]float32 {
	out := make([][]float32, len(params))
	for i, p := range params {
		out[i] = slices.Clone(p.Tensor.Data())
	}
	return out
}

func bits(x float32) uint32 { return math.Float32bits(x) }

// TestProjectInvariants trains the toy model with SGD (Nesterov momentum
// and weight decay, as the paper) and RST, and checks after every step that
// each element within τ of w0 equals w0 bit for bit, each other element
// kept its stepped value, the returned count and Density equal the number
// of changed elements, and the momentum buffers are what SGD left.
func TestProjectInvariants(t *testing.T) {
	tests := []struct {
		name string
		tau  float32
		lr   float64
	}{
		{"tau 0 keeps every change", 0, 0.05},
		{"tau 1e-3", 1e-3, 0.05},
		{"tau 1e-2", 1e-2, 0.05},
		{"tau above every step", 10, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newToyModel(1)
			params := nn.NamedParams(m)
			w0 := snapshot(params)
			p := New(params, tt.tau)
			opt := &nn.SGD{Groups: []nn.ParamGroup{{Params: nn.Params(m), LR: tt.lr, WeightDecay: 5e-4}}, Momentum: 0.9, Nesterov: true}
			rng := tensor.NewRNG(2)
			x := tensor.RandN(rng, 32, 12)
			labels := make([]int, 32)
			for i := range labels {
				labels[i] = rng.IntN(5)
			}
			var everKept, everReset bool
			for step := range 6 {
				opt.ZeroGrad()
				tensor.CrossEntropy(m.forward(x), labels, 0).Backward()
				opt.Step(1)
				stepped := snapshot(params)
				momentum := opt.State()
				for i := range momentum {
					momentum[i] = slices.Clone(momentum[i])
				}
				got := p.Project()

				changed := 0
				for i, prm := range params {
					w := prm.Tensor.Data()
					for j, v := range w {
						reset := !(abs32(stepped[i][j]-w0[i][j]) > tt.tau)
						switch {
						case reset && bits(v) != bits(w0[i][j]):
							t.Fatalf("step %d: %s[%d] = %g, |w − w0| = %g ≤ τ, want w0 = %g exactly",
								step, prm.Name, j, v, abs32(stepped[i][j]-w0[i][j]), w0[i][j])
						case !reset && bits(v) != bits(stepped[i][j]):
							t.Fatalf("step %d: %s[%d] = %g, want the stepped value %g (|w − w0| > τ)", step, prm.Name, j, v, stepped[i][j])
						case !reset:
							changed++
							everKept = true
						default:
							everReset = everReset || bits(stepped[i][j]) != bits(w0[i][j])
						}
					}
				}
				d := p.Density()
				if got != changed || d.NonZero != changed || d.Numel != nn.CountParams(m) {
					t.Errorf("step %d: Project = %d, Density = %d of %d; want %d of %d", step, got, d.NonZero, d.Numel, changed, nn.CountParams(m))
				}
				sum := 0
				for i, pd := range d.Params {
					sum += pd.NonZero
					if pd.Name != params[i].Name || pd.Numel != params[i].Tensor.Numel() {
						t.Errorf("Density.Params[%d] = %+v, want %s with %d elements", i, pd, params[i].Name, params[i].Tensor.Numel())
					}
				}
				if sum != d.NonZero {
					t.Errorf("step %d: per-parameter counts sum to %d, total %d", step, sum, d.NonZero)
				}
				for i, buf := range opt.State() {
					if !slices.Equal(buf, momentum[i]) {
						t.Fatalf("step %d: Project changed the momentum buffer of parameter %d", step, i)
					}
				}
			}
			wantKept, wantReset := tt.tau < 10, tt.tau > 0
			if everKept != wantKept || everReset != wantReset {
				t.Errorf("some element kept: %v, some moved element reset: %v; want %v, %v", everKept, everReset, wantKept, wantReset)
			}
		})
	}
}

// TestProjectSlice checks the comparison at its edges: strictly greater
// keeps, equality resets, NaN differences reset, signed zeros.
func TestProjectSlice(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	tests := []struct {
		name     string
		w, w0    float32
		tau      float32
		wantKeep bool
	}{
		{"equal to tau resets", 1.5, 1, 0.5, false},
		{"just above tau keeps", 1.5, 1, math.Nextafter32(0.5, 0), true},
		{"below tau resets, negative side", 0.75, 1, 0.5, false},
		{"above tau keeps, negative side", 0.25, 1, 0.5, true},
		{"NaN weight resets", nan, 1, 0.5, false},
		{"infinite weight keeps", inf, 1, 0.5, true},
		{"zero tau keeps any change", math.Nextafter32(1, 2), 1, 0, true},
		{"zero tau resets a signed zero", 0, negZero, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, w0 := []float32{tt.w}, []float32{tt.w0}
			kept := projectSlice(w, w0, tt.tau)
			want := tt.w0
			if tt.wantKeep {
				want = tt.w
			}
			if (kept == 1) != tt.wantKeep || bits(w[0]) != bits(want) {
				t.Errorf("w %g, w0 %g, τ %g: kept %d, w %g; want kept %v, w %g", tt.w, tt.w0, tt.tau, kept, w[0], tt.wantKeep, want)
			}
		})
	}
}

// randomParams returns tensors of the given sizes with N(0, 0.05²) values.
func randomParams(rng *rand.Rand, sizes ...[]int) []nn.Named {
	var out []nn.Named
	for i, shape := range sizes {
		x := tensor.RandN(rng, shape...)
		for j, v := range x.Data() {
			x.Data()[j] = 0.05 * v
		}
		out = append(out, nn.Named{Name: fmt.Sprintf("layer%d.weight", i), Tensor: x})
	}
	return out
}

// TestMaxDensity checks the global top-k mode: after Project at most
// ⌊d·N⌋ elements differ, exactly that many when the differences are
// distinct, and every kept |w − w0| exceeds every reset one that was past τ.
func TestMaxDensity(t *testing.T) {
	big := 1 << 18 // above parallelMin: the parallel histogram path
	if testing.Short() {
		big = 1 << 17
	}
	tests := []struct {
		name    string
		sizes   [][]int
		density float64
		ties    bool
	}{
		{"small, 5 %", [][]int{{40, 30}, {30}, {7, 3, 2, 2}}, 0.05, false},
		{"large, 0.5 %", [][]int{{big / 2}, {big / 4, 2}, {1000}}, 0.005, false},
		{"ties at the cut", [][]int{{300}, {200}}, 0.1, true},
		{"budget above the changes", [][]int{{500}}, 0.9, false},
		{"budget of one element", [][]int{{500}, {20}}, 1.0 / 520, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := tensor.NewRNG(7)
			params := randomParams(rng, tt.sizes...)
			w0 := snapshot(params)
			const tau = 1e-4
			p := New(params, tau)
			p.SetMaxDensity(tt.density)
			// Move every element by up to 1e-3, so about 90 % are past τ.
			for _, prm := range params {
				for j := range prm.Tensor.Data() {
					step := float32(rng.Float64()*2e-3 - 1e-3)
					if tt.ties {
						step = float32(rng.IntN(20)) * 5e-5 // many equal steps
					}
					prm.Tensor.Data()[j] += step
				}
			}
			stepped := snapshot(params)
			past := 0
			for i := range params {
				for j := range w0[i] {
					if abs32(stepped[i][j]-w0[i][j]) > tau {
						past++
					}
				}
			}
			kept := p.Project()
			budget := int(tt.density * float64(p.Numel()))
			want := min(budget, past)
			if kept > budget || (!tt.ties && kept != want) || kept != p.Density().NonZero {
				t.Fatalf("kept %d (Density %d), budget %d, %d past τ; want %d", kept, p.Density().NonZero, budget, past, want)
			}
			minKept, maxReset := float32(math.Inf(1)), float32(0)
			for i, prm := range params {
				for j, v := range prm.Tensor.Data() {
					d := abs32(stepped[i][j] - w0[i][j])
					switch {
					case bits(v) == bits(stepped[i][j]) && d > tau:
						minKept = min(minKept, d)
					case bits(v) == bits(w0[i][j]):
						if d > tau {
							maxReset = max(maxReset, d)
						}
					default:
						t.Fatalf("%s[%d] = %g is neither w0 %g nor the stepped %g", prm.Name, j, v, w0[i][j], stepped[i][j])
					}
				}
			}
			if kept > 0 && minKept <= maxReset {
				t.Errorf("smallest kept |w − w0| %g ≤ largest reset %g: not the top %d", minKept, maxReset, budget)
			}
			if tt.ties && kept == budget {
				t.Errorf("kept %d = budget with ties at the cut; the test does not exercise ties", kept)
			}
		})
	}
}

// TestTauSchedule raises τ between steps, as a τ schedule does: elements
// that stayed past the old τ but not the new one are reset.
func TestTauSchedule(t *testing.T) {
	w := tensor.New([]float32{1, 1, 1, 1}, 4)
	p := New([]nn.Named{{Name: "w", Tensor: w}}, 0)
	copy(w.Data(), []float32{1.001, 1.002, 0.997, 1})
	taus := []struct {
		tau  float32
		want []float32
	}{
		{0, []float32{1.001, 1.002, 0.997, 1}},
		{0.0015, []float32{1, 1.002, 0.997, 1}},
		{0.0025, []float32{1, 1, 0.997, 1}},
		{0.005, []float32{1, 1, 1, 1}},
	}
	for _, tt := range taus {
		p.SetTau(tt.tau)
		kept := p.Project()
		if p.Tau() != tt.tau || !slices.Equal(w.Data(), tt.want) || kept != p.Density().NonZero {
			t.Errorf("τ %g: Tau() %g, w %v, kept %d; want %v", tt.tau, p.Tau(), w.Data(), kept, tt.want)
		}
	}
}

func TestSetTauPanics(t *testing.T) {
	for _, tau := range []float32{-1e-6, float32(math.NaN()), float32(math.Inf(1))} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetTau(%g) did not panic", tau)
				}
			}()
			New(nil, 0).SetTau(tau)
		}()
	}
	for _, d := range []float64{-0.1, 1.5, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetMaxDensity(%g) did not panic", d)
				}
			}()
			New(nil, 0).SetMaxDensity(d)
		}()
	}
	defer func() {
		if recover() == nil {
			t.Errorf("New with a repeated name did not panic")
		}
	}()
	x := tensor.Zeros(3)
	New([]nn.Named{{Name: "a", Tensor: x}, {Name: "a", Tensor: x}}, 0)
}

// TestFingerprint checks that the fingerprint ignores the order of the
// tensors and changes with any name, shape or bit of a value, and that a
// Projector's fingerprint is that of w0 however far training moved.
func TestFingerprint(t *testing.T) {
	rng := tensor.NewRNG(3)
	params := randomParams(rng, []int{6, 4}, []int{10}, []int{2, 3})
	fp := FingerprintOf(params)
	same := slices.Clone(params)
	slices.Reverse(same)
	if got := FingerprintOf(same); got != fp {
		t.Errorf("reordered tensors: %s, want %s", got, fp)
	}
	clone := func() []nn.Named {
		out := make([]nn.Named, len(params))
		for i, p := range params {
			out[i] = nn.Named{Name: p.Name, Tensor: p.Tensor.Clone()}
		}
		return out
	}
	changes := map[string]func([]nn.Named) []nn.Named{
		"one bit of one value": func(ps []nn.Named) []nn.Named {
			d := ps[1].Tensor.Data()
			d[3] = math.Float32frombits(bits(d[3]) ^ 1)
			return ps
		},
		"a name": func(ps []nn.Named) []nn.Named {
			ps[0].Name = "other.weight"
			return ps
		},
		"a shape": func(ps []nn.Named) []nn.Named {
			ps[0].Tensor = tensor.New(ps[0].Tensor.Data(), 4, 6)
			return ps
		},
		"a tensor more": func(ps []nn.Named) []nn.Named {
			return append(ps, nn.Named{Name: "extra", Tensor: tensor.Zeros(1)})
		},
		"a tensor less": func(ps []nn.Named) []nn.Named { return ps[1:] },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			if got := FingerprintOf(change(clone())); got == fp {
				t.Errorf("fingerprint unchanged: %s", got)
			}
		})
	}
	p := New(params, 0)
	params[0].Tensor.Data()[0] += 1
	if got := p.Fingerprint(); got != fp {
		t.Errorf("Projector fingerprint after training %s, want that of w0 %s", got, fp)
	}
}

// BenchmarkViTBlock times the passes over the parameters of one ViT-B/16
// residual block (7.1 M elements) after a realistic step, where every
// element moved and about 0.1 % are past τ: Project (alone and with a
// budget of half the changes), Density, Residual and the base fingerprint.
// It reports the cost per element and extrapolated to ViT-B/16's 86.19 M
// image-tower weights.
func BenchmarkViTBlock(b *testing.B) {
	sizes := [][]int{{2304, 768}, {2304}, {768, 768}, {768}, {768}, {768}, {3072, 768}, {3072}, {768, 3072}, {768}, {768}, {768}}
	rng := tensor.NewRNG(1)
	params := randomParams(rng, sizes...)
	n := 0
	base, stepped := snapshot(params), snapshot(params)
	for i := range stepped {
		for j := range stepped[i] {
			step := float32(rng.NormFloat64() * 1e-7)
			if rng.IntN(1000) == 0 {
				step = 1e-5
			}
			stepped[i][j] += step
		}
		n += len(stepped[i])
	}
	modes := []struct {
		name    string
		density float64
		project bool // project before the timed call, outside the timer
		run     func(p *Projector)
	}{
		{"Project", 0, false, func(p *Projector) { p.Project() }},
		{"Project/budget", 0.0005, false, func(p *Projector) { p.Project() }},
		{"Density", 0, true, func(p *Projector) { p.Density() }},
		{"Residual", 0, true, func(p *Projector) { p.Residual(Float32, nil, nil) }},
		{"Fingerprint", 0, false, func(p *Projector) { FingerprintOf(p.params) }},
	}
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			for i, prm := range params {
				copy(prm.Tensor.Data(), base[i])
			}
			p := New(params, 1e-6)
			p.SetMaxDensity(mode.density)
			for b.Loop() {
				b.StopTimer()
				for i, prm := range params {
					copy(prm.Tensor.Data(), stepped[i])
				}
				if mode.project {
					p.Project()
				}
				b.StartTimer()
				mode.run(p)
			}
			b.StopTimer()
			if kept, want := p.Density().NonZero, int(mode.density*float64(n)); mode.density > 0 && kept > want {
				b.Fatalf("%d elements differ from w0, budget %d", kept, want)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
			b.ReportMetric(ns, "ns/elem")
			b.ReportMetric(ns*86.19e6/1e6, "ms/ViT-B16")
		})
	}
}
