package pretrain

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp"
)

func TestGateCheck(t *testing.T) {
	pass := GateResult{HeldOut: 0.82, HeldOutImages: 1000, MNISTHeldOut: 0.71, MNISTHeldOutImages: 10000, PromptCosine: 0.6}
	with := func(f func(*GateResult)) GateResult { r := pass; f(&r); return r }
	tests := []struct {
		name string
		r    GateResult
		want string // a part of the error; "" to pass
	}{
		{"pass", pass, ""},
		{"pass at the bounds", with(func(r *GateResult) { r.HeldOut, r.MNISTHeldOut = 0.6, 0.8 }), ""},
		{"held-out too low", with(func(r *GateResult) { r.HeldOut = 0.59 }), "held-out accuracy 59.0 % < 60 %"},
		{"MNIST too low", with(func(r *GateResult) { r.MNISTHeldOut = 0.25 }), "MNIST held-out train accuracy 25.0 % < 30 %"},
		{"MNIST too high", with(func(r *GateResult) { r.MNISTHeldOut = 0.85 }), "MNIST held-out train accuracy 85.0 % > 80 %"},
		{"prompts collapsed", with(func(r *GateResult) { r.PromptCosine = 0.95 }), "max prompt cosine 0.950 ≥ 0.90"},
		{"prompt cosine at the bound", with(func(r *GateResult) { r.PromptCosine = 0.9 }), "max prompt cosine 0.900"},
		{"not measured", with(func(r *GateResult) { r.HeldOut, r.PromptCosine = math.NaN(), math.NaN() }), "held-out accuracy NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DefaultGate.Check(tt.r)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrGate) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check: %v, want an ErrGate saying %q", err, tt.want)
			}
			// The message always gives all three numbers.
			for _, part := range []string{"held-out renders", "MNIST held-out train", "max prompt cosine"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("message %q lacks %q", err, part)
				}
			}
		})
	}
}

func TestMaxOffDiagonalCosine(t *testing.T) {
	s := math.Sqrt(0.5)
	tests := []struct {
		name string
		rows []float64
		n    int
		want float64
	}{
		{"orthogonal", []float64{1, 0, 0, 0, 2, 0, 0, 0, 3}, 3, 0},
		{"one pair at 45°", []float64{1, 0, 0, s, s, 0, 0, 0, 1}, 3, s},
		{"scale does not matter", []float64{2, 0, 0, 5, 5, 0, 0, 0, -1}, 3, s},
		{"identical rows", []float64{1, 2, 3, 1, 2, 3}, 2, 1},
		{"opposite rows", []float64{1, 2, -1, -2}, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaxOffDiagonalCosine(tensor.FromFloat64(tt.rows, tt.n, len(tt.rows)/tt.n))
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("got %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

// tinyConfig is a CLIP small enough for tests.
func tinyConfig() vlp.Config {
	return vlp.Config{EmbedDim: 16, ImageResolution: 32, VisionLayers: []int{1}, VisionWidth: 64, VisionPatchSize: 8,
		ContextLength: ContextLength, VocabSize: 49408, TransformerWidth: 32, TransformerHeads: 1, TransformerLayers: 1}
}

// TestCheckTeacher runs the gate on a random tiny model: a strict gate
// refuses it with the three numbers, a gate that asks nothing passes it.
func TestCheckTeacher(t *testing.T) {
	m, err := vlp.New(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	held, err := RenderHeldOut(digits.GoFaces()[:2], nil, 32, 60)
	if err != nil {
		t.Fatal(err)
	}
	grey := held.Resize(32, 32, 1)
	sets := &GateSets{HeldOut: held, MNISTHeldOut: grey}

	r, err := CheckTeacher(m, sets, DefaultGate)
	if !errors.Is(err, ErrGate) {
		t.Fatalf("a random model passes the default gate (%v), or fails otherwise: %v", r, err)
	}
	if r.HeldOutImages != 60 || r.MNISTHeldOutImages != 60 || r.Prompt != Prompt {
		t.Errorf("result %+v: want 60 images each and the prompt %q", r, Prompt)
	}
	for _, v := range []float64{r.HeldOut, r.MNISTHeldOut} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			t.Errorf("accuracy %g outside [0, 1]", v)
		}
	}
	open := Gate{MinHeldOut: 0, MinMNIST: 0, MaxMNIST: 1, MaxPromptCosine: 1.01}
	r2, err := CheckTeacher(m, sets, open)
	if err != nil {
		t.Fatalf("open gate: %v", err)
	}
	if r2 != r {
		t.Errorf("two measurements of one model differ: %v and %v", r, r2)
	}
}

func TestLoadGateSets(t *testing.T) {
	sets, err := LoadGateSets(32, GateOptions{HeldOut: 30, MNIST: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		d        *digits.Dataset
		n, chans int
	}{{sets.HeldOut, 30, 3}, {sets.MNISTHeldOut, 20, 1}} {
		if tt.d.Len() != tt.n || tt.d.Width != 32 || tt.d.Height != 32 || tt.d.Channels != tt.chans {
			t.Errorf("%s: %d images of %dx%dx%d, want %d of 32x32x%d", tt.d.Name, tt.d.Len(), tt.d.Width, tt.d.Height, tt.d.Channels, tt.n, tt.chans)
		}
	}
	// The MNIST images are the first of the training split's held-out
	// part, never MNIST test, the target of two of the demo's tasks.
	train, err := digits.LoadMNIST("", digits.Train)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 20)
	for i := range idx {
		idx[i] = digits.MNISTHeldOutStart + i
	}
	want := train.Subset(idx).Resize(32, 32, 1)
	if !bytes.Equal(sets.MNISTHeldOut.Pixels, want.Pixels) || !slices.Equal(sets.MNISTHeldOut.Labels, want.Labels) {
		t.Errorf("the gate's MNIST images are not images %d to %d of MNIST's training split", idx[0], idx[len(idx)-1])
	}
	// The held-out renders come only from held-out faces.
	src := sets.HeldOut.Sources[0]
	faces, _ := SplitFaces(digits.GoFaces())
	for _, f := range faces {
		if strings.Contains(src, " "+f.Name+",") || strings.HasSuffix(src, " "+f.Name) {
			t.Errorf("held-out renders use the training face %s (%s)", f.Name, src)
		}
	}
}

// TestRecordGate checks that a passing result is recorded with the
// weights and the other metadata kept, and that a failing one is refused
// with the file untouched.
func TestRecordGate(t *testing.T) {
	m, err := vlp.New(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "teacher.safetensors")
	if err := Save(path, m, map[string]string{"vlpuda.pretrain": "recipe", GateKey: "old"}, false); err != nil {
		t.Fatal(err)
	}
	pass := GateResult{Prompt: Prompt, HeldOut: 0.9, HeldOutImages: 1000, MNISTHeldOut: 0.7, MNISTHeldOutImages: 10000, PromptCosine: 0.5}
	fail := pass
	fail.MNISTHeldOut = 0.9
	for _, tc := range []struct {
		name string
		r    GateResult
		want string // GateKey's value after the call
	}{
		{"failing result refused", fail, "old"},
		{"passing result recorded", pass, `"mnist_heldout_train_accuracy":0.7`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RecordGate(path, tc.r)
			if (err == nil) != (tc.r == pass) {
				t.Fatalf("RecordGate: %v", err)
			}
			got, meta, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(meta[GateKey], tc.want) || meta["vlpuda.pretrain"] != "recipe" {
				t.Errorf("metadata %q", meta)
			}
			want, have := nn.StateDict(m), nn.StateDict(got)
			for name, w := range want {
				if !slices.Equal(w.Values(), have[name].Values()) {
					t.Errorf("tensor %s changed", name)
				}
			}
		})
	}
}
