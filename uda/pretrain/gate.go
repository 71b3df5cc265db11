package pretrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp"
)

// Gate holds the conditions a teacher must meet to be published.
type Gate struct {
	// MinHeldOut is the least zero-shot accuracy on the held-out renders.
	MinHeldOut float64
	// MinMNIST and MaxMNIST bound the zero-shot accuracy on MNIST's
	// held-out training images (digits.MNISTHeldOut), which no task of the
	// demo trains or evaluates on: the teacher must know digits, yet leave
	// the adaptation room to act.
	MinMNIST, MaxMNIST float64
	// MaxPromptCosine bounds the cosine similarity of any two of the ten
	// digit prompts' embeddings; near 1 the text tower has collapsed.
	MaxPromptCosine float64
}

// DefaultGate is the gate of the issue: at least 60 % on held-out renders,
// 30 % to 80 % on MNIST's held-out training images, prompt cosines below
// 0.9.
var DefaultGate = Gate{MinHeldOut: 0.6, MinMNIST: 0.3, MaxMNIST: 0.8, MaxPromptCosine: 0.9}

// GateResult holds the three numbers the gate judges.
// HeldOut is the accuracy on the held-out renders, MNISTHeldOut that on
// MNIST's held-out training images.
type GateResult struct {
	Prompt             string  `json:"prompt"`
	HeldOut            float64 `json:"heldout_accuracy"`
	HeldOutImages      int     `json:"heldout_images"`
	MNISTHeldOut       float64 `json:"mnist_heldout_train_accuracy"`
	MNISTHeldOutImages int     `json:"mnist_heldout_train_images"`
	PromptCosine       float64 `json:"prompt_max_cosine"`
}

// String gives the three numbers on one line.
func (r GateResult) String() string {
	return fmt.Sprintf("held-out renders %.1f %% (%d images), MNIST held-out train %.1f %% (%d images), max prompt cosine %.3f",
		100*r.HeldOut, r.HeldOutImages, 100*r.MNISTHeldOut, r.MNISTHeldOutImages, r.PromptCosine)
}

// ErrGate is wrapped by the error of a teacher that fails the gate.
var ErrGate = errors.New("teacher fails the gate")

// Check returns nil if r meets every condition of g, and otherwise an
// error wrapping ErrGate that names each failed condition and gives all
// three numbers.
func (g Gate) Check(r GateResult) error {
	var fails []string
	if !(r.HeldOut >= g.MinHeldOut) {
		fails = append(fails, fmt.Sprintf("held-out accuracy %.1f %% < %.0f %%", 100*r.HeldOut, 100*g.MinHeldOut))
	}
	if !(r.MNISTHeldOut >= g.MinMNIST) {
		fails = append(fails, fmt.Sprintf("MNIST held-out train accuracy %.1f %% < %.0f %%", 100*r.MNISTHeldOut, 100*g.MinMNIST))
	}
	if r.MNISTHeldOut > g.MaxMNIST {
		fails = append(fails, fmt.Sprintf("MNIST held-out train accuracy %.1f %% > %.0f %% (too little left to adapt)", 100*r.MNISTHeldOut, 100*g.MaxMNIST))
	}
	if !(r.PromptCosine < g.MaxPromptCosine) {
		fails = append(fails, fmt.Sprintf("max prompt cosine %.3f ≥ %.2f (the digit prompts are not told apart)", r.PromptCosine, g.MaxPromptCosine))
	}
	if len(fails) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; measured %s", ErrGate, strings.Join(fails, ", "), r)
}

// HeldOutFaces are the faces never used in training: the held-out renders
// of the gate are drawn from those of them that are available. The Go
// face keeps a held-out set on machines without the Debian fonts.
var HeldOutFaces = []string{"gomediumitalic", "DejaVuSerif-Bold", "LiberationSans-Bold", "ComicNeue-Italic"}

// SplitFaces separates HeldOutFaces from the others.
func SplitFaces(faces []digits.Face) (train, heldOut []digits.Face) {
	for _, f := range faces {
		if slices.Contains(HeldOutFaces, f.Name) {
			heldOut = append(heldOut, f)
		} else {
			train = append(train, f)
		}
	}
	return train, heldOut
}

// GateSets are the images the gate classifies, at the model's resolution.
type GateSets struct {
	HeldOut      *digits.Dataset // RGB renders of held-out faces
	MNISTHeldOut *digits.Dataset // MNIST's held-out training images, grey
}

// GateOptions configures LoadGateSets.
type GateOptions struct {
	// CacheDir holds the fetched Debian files (empty: the default).
	CacheDir string
	// MNISTDir holds MNIST's files (empty: the Go module cache).
	MNISTDir string
	// HeldOut is the number of held-out renders (default 1000).
	HeldOut int
	// MNIST is the number of MNIST's held-out training images, the first
	// ones (default and at most digits.MNISTHeldOut, all of them).
	MNIST int
}

// heldOutSeed keys the held-out renders' stream; training uses the
// training stream of any seed, which never meets it.
const heldOutSeed = 20240601

// LoadGateSets renders the held-out digits at size pixels, from the
// HeldOutFaces available and the corpus photos on the held-out stream,
// and loads MNIST's held-out training images (digits.SplitMNISTTrain)
// scaled to size.
func LoadGateSets(size int, o GateOptions) (*GateSets, error) {
	faces, err := LoadFaces(o.CacheDir)
	if err != nil {
		return nil, err
	}
	photos, err := LoadPhotos(o.CacheDir)
	if err != nil {
		return nil, err
	}
	_, held := SplitFaces(faces)
	if len(held) == 0 {
		return nil, fmt.Errorf("pretrain: none of the held-out faces %v is available", HeldOutFaces)
	}
	n := o.HeldOut
	if n <= 0 {
		n = 1000
	}
	ho, err := RenderHeldOut(held, photos, size, n)
	if err != nil {
		return nil, err
	}
	train, err := digits.LoadMNIST(o.MNISTDir, digits.Train)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	_, mn, err := digits.SplitMNISTTrain(train)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if o.MNIST > 0 && o.MNIST < mn.Len() {
		mn = mn.Subset(seq(o.MNIST))
	}
	return &GateSets{HeldOut: ho, MNISTHeldOut: mn.Resize(size, size, 1)}, nil
}

// RenderHeldOut renders n digits as a Dataset from the corpus's held-out
// stream: the corpus recipe (colours, backgrounds, stroke weights,
// geometry) restricted to digits and drawn from faces.
func RenderHeldOut(faces []digits.Face, photos []digits.Photo, size, n int) (*digits.Dataset, error) {
	c, err := NewCorpus(CorpusOptions{Size: size, Faces: faces, Photos: photos, DigitsOnly: true, Seed: heldOutSeed, HeldOut: true})
	if err != nil {
		return nil, err
	}
	samples := make([]Sample, n)
	c.Fill(samples, 0, 0)
	var names []string
	for _, f := range faces {
		names = append(names, f.Name)
	}
	d := &digits.Dataset{
		Name: "heldout-renders", Split: digits.Test,
		Width: size, Height: size, Channels: 3,
		Pixels: make([]uint8, 0, n*size*size*3), Labels: make([]int, n),
		Classes: digits.Classes,
		Sources: []string{fmt.Sprintf("pretrain corpus, held-out stream (seed %d), digits only: %s", heldOutSeed, strings.Join(names, ", "))},
	}
	for i, s := range samples {
		d.Pixels = append(d.Pixels, s.Pixels...)
		d.Labels[i] = s.Label
	}
	return d, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// CheckTeacher measures m against the gate: zero-shot accuracy with
// Prompt on sets.HeldOut and sets.MNISTHeldOut, each image prepared by
// Standardize, and the largest cosine between two digit prompts. It puts
// m in evaluation mode. The error wraps ErrGate when g.Check fails; the
// result is filled in either way.
func CheckTeacher(m *vlp.CLIP, sets *GateSets, g Gate) (GateResult, error) {
	nn.SetTraining(m, false)
	z, err := vlp.NewZeroShot(m, digits.Classes, []string{Prompt})
	if err != nil {
		return GateResult{}, fmt.Errorf("pretrain: gate: %w", err)
	}
	r := GateResult{Prompt: Prompt, PromptCosine: MaxOffDiagonalCosine(z.Text)}
	if r.HeldOut, err = ZeroShotAccuracy(z, sets.HeldOut); err != nil {
		return r, err
	}
	if r.MNISTHeldOut, err = ZeroShotAccuracy(z, sets.MNISTHeldOut); err != nil {
		return r, err
	}
	r.HeldOutImages, r.MNISTHeldOutImages = sets.HeldOut.Len(), sets.MNISTHeldOut.Len()
	return r, g.Check(r)
}

// evalBatch is the number of images classified at once.
const evalBatch = 250

// ZeroShotAccuracy returns the top-1 accuracy of the zero-shot head z on
// d, whose images must be at the model's resolution and whose labels index
// z.Classes. Images are prepared with Standardize.
func ZeroShotAccuracy(z *vlp.ZeroShot, d *digits.Dataset) (float64, error) {
	if d.Len() == 0 {
		return 0, fmt.Errorf("pretrain: zero-shot accuracy of %s: no images", d.Name)
	}
	correct := 0
	for lo := 0; lo < d.Len(); lo += evalBatch {
		idx := seq(min(evalBatch, d.Len()-lo))
		for j := range idx {
			idx[j] += lo
		}
		pred, _ := z.Predict(ImageBatch(d, idx))
		for j, p := range pred {
			if p == d.Labels[idx[j]] {
				correct++
			}
		}
	}
	return float64(correct) / float64(d.Len()), nil
}

// MaxOffDiagonalCosine returns the largest cosine similarity between two
// different rows of text (C, D), or NaN with fewer than two rows.
func MaxOffDiagonalCosine(text *tensor.Tensor) float64 {
	best := math.NaN()
	n := vlp.Normalize(text.Inference())
	g := tensor.MatMul(n, n.T()).Contiguous().Data()
	c := text.Dim(0)
	for i := range c {
		for j := range c {
			if v := float64(g[i*c+j]); i != j && (math.IsNaN(best) || v > best) {
				best = v
			}
		}
	}
	return best
}

// GateKey is the metadata key under which a published teacher records its
// GateResult as JSON.
const GateKey = "vlpuda.gate"

// RecordGate rewrites the teacher checkpoint at path with r as its gate
// record (GateKey), atomically; the weights and the other metadata are
// kept. It refuses a result that fails DefaultGate.
func RecordGate(path string, r GateResult) error {
	if err := DefaultGate.Check(r); err != nil {
		return fmt.Errorf("pretrain: record the gate in %s: %w", path, err)
	}
	m, meta, err := Load(path)
	if err != nil {
		return err
	}
	g, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("pretrain: record the gate in %s: %w", path, err)
	}
	meta[GateKey] = string(g)
	return Save(path, m, meta, true)
}
