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

// GFLOPs returns the nominal work of one image of the case, in 10⁹
// floating-point operations: two per multiply-add of the convolutions, the
// linear layers and the attention products of the tower as PyTorch's
// definition computes it (bench/pytorch/clip_bench.py: the attention
// pool's query is its first token alone), and three times that for a
// training step (the backward pass's two products per forward one).
// Normalisations, activations and pools are not counted.
func (c CLIPCase) GFLOPs() float64 {
	cfg := modelConfig[c.Model]
	f := forwardFLOPs(cfg)
	if c.Train {
		f *= 3
	}
	return f / 1e9
}

// forwardFLOPs returns the nominal operations of one image through the
// image tower of cfg; see CLIPCase.GFLOPs.
func forwardFLOPs(cfg vlp.Config) float64 {
	r, w, e := float64(cfg.ImageResolution), float64(cfg.VisionWidth), float64(cfg.EmbedDim)
	if !cfg.IsResNet() {
		p := float64(cfg.VisionPatchSize)
		g2 := (r / p) * (r / p)
		l := g2 + 1 // tokens
		patches := 2 * w * 3 * p * p * g2
		// qkv 3d², out d², MLP 8d² per token (2·12·L·d²); scores and values 2·2·L²·d.
		layer := 24*l*w*w + 4*l*l*w
		return patches + float64(cfg.VisionLayers[0])*layer + 2*w*e
	}
	conv := func(cin, cout, k, hw float64) float64 { return 2 * cin * cout * k * k * hw * hw }
	h := r / 2
	f := conv(3, w/2, 3, h) + conv(w/2, w/2, 3, h) + conv(w/2, w, 3, h)
	h /= 2 // the stem's average pool
	in := w
	for s, blocks := range cfg.VisionLayers {
		planes := w * float64(int(1)<<s)
		for b := range blocks {
			f += conv(in, planes, 1, h) + conv(planes, planes, 3, h)
			if s > 0 && b == 0 {
				h /= 2 // the block's average pool, before conv3 and the shortcut
			}
			f += conv(planes, 4*planes, 1, h)
			if in != 4*planes || (s > 0 && b == 0) {
				f += conv(in, 4*planes, 1, h)
			}
			in = 4 * planes
		}
	}
	// The attention pool: one query, keys and values over the h² tokens and
	// their mean, the output and c_proj projections.
	d, l := in, h*h+1
	return f + 2*d*d*(1+2*l+1) + 4*l*d + 2*d*e
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
	// GFLOPS is the nominal work done per second (CLIPCase.GFLOPs times
	// images per second), PeakGFLOPS the FMA peak of the threads in use
	// measured in the same process after the timing (0 where there is no
	// vector kernel to measure it with), and PeakPercent the one over the
	// other.
	GFLOPS      float64 `json:"gflops"`
	PeakGFLOPS  float64 `json:"peak_gflops"`
	PeakPercent float64 `json:"peak_percent"`
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
	rss, _ := peakmem.PeakMiB() // 0 where it is not measured
	r := CLIPResult{
		Case: c.Name(), Model: c.Model, Batch: c.Batch, Train: c.Train, Threads: kernels.Threads(),
		ImagesPerSec: float64(c.Batch) / best.Seconds(), SecPerBatch: best.Seconds(), PeakRSSMiB: rss,
		PeakGFLOPS: kernels.PeakGFLOPS(kernels.Threads(), 200*time.Millisecond),
	}
	r.GFLOPS = r.ImagesPerSec * c.GFLOPs()
	if r.PeakGFLOPS > 0 {
		r.PeakPercent = 100 * r.GFLOPS / r.PeakGFLOPS
	}
	return r, nil
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
