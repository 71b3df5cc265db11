package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vlpuda/vlpuda/internal/peakmem"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp"
)

// CLIPCase is one CLIP benchmark: an image tower run forward (inference) or
// through a training step (forward, backward and an SGD update) on a batch
// of random images.
type CLIPCase struct {
	Model string // "ViT-B/32", "ViT-B/16" or "RN50"
	Batch int
	Train bool
}

// Name identifies the case on the command line, e.g. "vit-b16-fwd-8".
func (c CLIPCase) Name() string {
	kind := "fwd"
	if c.Train {
		kind = "train"
	}
	return fmt.Sprintf("%s-%s-%d", modelSlug[c.Model], kind, c.Batch)
}

var modelSlug = map[string]string{"ViT-B/32": "vit-b32", "ViT-B/16": "vit-b16", "RN50": "rn50"}

var modelConfig = map[string]vlp.Config{"ViT-B/32": vlp.ViTB32, "ViT-B/16": vlp.ViTB16, "RN50": vlp.RN50}

// CLIPCases are the cases "vlpuda bench clip" runs by default, the ones the
// PyTorch script in bench/pytorch measures too.
var CLIPCases = []CLIPCase{
	{"ViT-B/32", 1, false}, {"ViT-B/32", 8, false},
	{"ViT-B/16", 1, false}, {"ViT-B/16", 8, false},
	{"RN50", 1, false}, {"RN50", 8, false},
	{"ViT-B/16", 8, true},
}

// ParseCLIPCase returns the case with the given Name.
func ParseCLIPCase(name string) (CLIPCase, error) {
	i := strings.LastIndex(name, "-")
	batch, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil || batch < 1 {
		return CLIPCase{}, fmt.Errorf("bench: CLIP case %q does not end in a batch size (e.g. vit-b16-fwd-8)", name)
	}
	for model := range modelConfig {
		for _, train := range []bool{false, true} {
			if c := (CLIPCase{model, batch, train}); c.Name() == name {
				return c, nil
			}
		}
	}
	return CLIPCase{}, fmt.Errorf("bench: unknown CLIP case %q (want vit-b32, vit-b16 or rn50, then fwd or train, then the batch)", name)
}

// CLIPResult is the measurement of one case. Its JSON names are the output
// of "vlpuda bench clip -json".
type CLIPResult struct {
	Case         string  `json:"case"`
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Train        bool    `json:"train"`
	Threads      int     `json:"threads"`
	ImagesPerSec float64 `json:"images_per_sec"`
	SecPerBatch  float64 `json:"sec_per_batch"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
}

// BenchCLIP builds the case's image tower with random weights (seed 1),
// runs it once to warm up and then reps times, and reports the best time.
// Peak memory is the process's peak resident set, so run each case in a
// fresh process (as the vlpuda command does) for a number that belongs to
// it alone.
func BenchCLIP(c CLIPCase, reps int) (CLIPResult, error) {
	step, err := NewCLIPStep(c)
	if err != nil {
		return CLIPResult{}, err
	}
	step() // warm up: packing buffers, momentum buffers
	best := time.Duration(1<<63 - 1)
	for range max(reps, 1) {
		t0 := time.Now()
		step()
		best = min(best, time.Since(t0))
	}
	peak, _ := peakmem.PeakMiB() // 0 where it is not measured
	return CLIPResult{
		Case: c.Name(), Model: c.Model, Batch: c.Batch, Train: c.Train, Threads: kernels.Threads(),
		ImagesPerSec: float64(c.Batch) / best.Seconds(), SecPerBatch: best.Seconds(), PeakRSSMiB: peak,
	}, nil
}

// NewCLIPStep builds the case's image tower with random weights (seed 1)
// and a batch of random images, and returns the function that runs one
// step of the case: a forward pass without the graph, its weights packed
// once as the inference commands pack them (nn.PackWeights), or a forward
// pass, backward pass and SGD update.
func NewCLIPStep(c CLIPCase) (step func(), err error) {
	cfg, ok := modelConfig[c.Model]
	if !ok {
		return nil, fmt.Errorf("bench: unknown model %q", c.Model)
	}
	rng := tensor.NewRNG(1)
	tower, err := vlp.NewImageEncoder(cfg, rng)
	if err != nil {
		return nil, err
	}
	r := cfg.ImageResolution
	images := tensor.RandN(rng, c.Batch, 3, r, r)
	if !c.Train {
		nn.SetTraining(tower, false)
		nn.PackWeights(tower)
		images = images.Inference()
		return func() { tower.Forward(images) }, nil
	}
	nn.SetTraining(tower, true)
	opt := &nn.SGD{Groups: []nn.ParamGroup{{Params: nn.Params(tower), LR: 1e-6, WeightDecay: 5e-4}}, Momentum: 0.9, Nesterov: true}
	labels := make([]int, c.Batch)
	for i := range labels {
		labels[i] = i % cfg.EmbedDim
	}
	return func() {
		loss := tensor.CrossEntropy(tower.Forward(images), labels, 0.1)
		loss.Backward()
		opt.Step(1)
		opt.ZeroGrad()
	}, nil
}
