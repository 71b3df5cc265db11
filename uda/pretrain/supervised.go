package pretrain

import (
	"fmt"
	"time"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp"
)

// SupervisedConfig configures SupervisedCheck. Zero fields take the
// defaults given.
type SupervisedConfig struct {
	// Model gives the image tower (default ResNetConfig()); its text
	// tower is not built.
	Model vlp.Config
	// Steps (default 200), Batch (default 64) and LR (AdamW, default 1e-3,
	// constant after a 10-step warm-up).
	Steps, Batch int
	LR           float64
	Seed         uint64
	// Corpus gives the faces and photos; Seed and Size are set from the
	// config.
	Corpus CorpusOptions
	// CLIPNormalize prepares images with CLIP's fixed mean and std instead
	// of Standardize, to compare the two.
	CLIPNormalize bool
	// Test is the number of fresh corpus samples (held-out stream, same
	// faces) the trained classifier is scored on (default 1000).
	Test int
	// Progress, if not nil, is called after every step.
	Progress func(done, total int, loss float64)
}

// SupervisedResult is the outcome of SupervisedCheck.
type SupervisedResult struct {
	Classes  int           `json:"classes"`
	Steps    int           `json:"steps"`
	Batch    int           `json:"batch"`
	Accuracy float64       `json:"accuracy"`       // on the Test samples, all classes
	Digits   float64       `json:"digit_accuracy"` // on the digits among them
	Chance   float64       `json:"chance"`         // 1/Classes
	Loss     float64       `json:"final_loss"`     // mean of the last 20 steps
	Wall     time.Duration `json:"wall_ns"`
}

// SupervisedCheck trains the image tower of cfg.Model with a linear head
// over the corpus classes by cross-entropy and reports its accuracy on
// fresh samples: lesson (a) of the issue, that a plain classifier must
// learn the corpus quickly before contrastive pretraining is worth trying,
// and the measurement that picks the image tower.
func SupervisedCheck(cfg SupervisedConfig) (*SupervisedResult, error) {
	c := cfg
	if c.Model.VisionLayers == nil {
		c.Model = ResNetConfig()
	}
	if c.Steps == 0 {
		c.Steps = 200
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Test == 0 {
		c.Test = 1000
	}
	co := c.Corpus
	co.Size, co.Seed, co.HeldOut = c.Model.ImageResolution, c.Seed, false
	corpus, err := NewCorpus(co)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(c.Seed)
	tower, err := vlp.NewImageEncoder(c.Model, rng)
	if err != nil {
		return nil, fmt.Errorf("pretrain: supervised check: %w", err)
	}
	nc := len(corpus.Classes())
	head := nn.NewLinear(rng, c.Model.EmbedDim, nc, true)
	params := append(nn.Params(tower), nn.Params(head)...)
	opt := &nn.AdamW{Groups: []nn.ParamGroup{{Params: params, LR: c.LR, WeightDecay: 0.01}}}
	sched := nn.WarmupCosine{Warmup: 10, Total: c.Steps, MinFactor: 1}
	prep := func(s []Sample) *tensor.Tensor {
		if c.CLIPNormalize {
			return clipBatch(s, corpus.Size())
		}
		return sampleBatch(s, corpus.Size())
	}

	start := time.Now()
	samples := make([]Sample, c.Batch)
	labels := make([]int, c.Batch)
	var last []float64
	nn.SetTraining(tower, true)
	for step := range c.Steps {
		corpus.Fill(samples, step*c.Batch, 0)
		for i, s := range samples {
			labels[i] = s.Label
		}
		loss := tensor.CrossEntropy(head.Forward(tower.Forward(prep(samples))), labels, 0)
		loss.Backward()
		nn.ClipGradNorm(params, 5)
		opt.Step(sched.Factor(step))
		opt.ZeroGrad()
		l := float64(loss.Item())
		if len(last) == 20 {
			last = last[1:]
		}
		last = append(last, l)
		if c.Progress != nil {
			c.Progress(step+1, c.Steps, l)
		}
	}
	nn.SetTraining(tower, false)

	test, err := NewCorpus(CorpusOptions{Size: co.Size, Faces: co.Faces, Photos: co.Photos, DigitShare: co.DigitShare, Seed: c.Seed, HeldOut: true})
	if err != nil {
		return nil, err
	}
	res := &SupervisedResult{Classes: nc, Steps: c.Steps, Batch: c.Batch, Chance: 1 / float64(nc), Loss: mean(last)}
	var right, digitsSeen, digitsRight int
	const batch = 250
	ts := make([]Sample, batch)
	for lo := 0; lo < c.Test; lo += batch {
		n := min(batch, c.Test-lo)
		test.Fill(ts[:n], lo, 0)
		pred := tensor.Argmax(head.Forward(tower.Forward(prep(ts[:n]).Inference())), 1)
		for i, p := range pred {
			ok := p == ts[i].Label
			if ok {
				right++
			}
			if ts[i].Label < 10 {
				digitsSeen++
				if ok {
					digitsRight++
				}
			}
		}
	}
	res.Accuracy = float64(right) / float64(c.Test)
	if digitsSeen > 0 {
		res.Digits = float64(digitsRight) / float64(digitsSeen)
	}
	res.Wall = time.Since(start)
	return res, nil
}

// clipBatch prepares samples with CLIP's fixed per-channel mean and std.
func clipBatch(samples []Sample, size int) *tensor.Tensor {
	n := size * size
	data := make([]float32, len(samples)*3*n)
	kernels.ParallelFor(len(samples), 16, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			dst := data[j*3*n : (j+1)*3*n]
			for ch := range 3 {
				for p := range n {
					v := float32(samples[j].Pixels[3*p+ch]) / 255
					dst[ch*n+p] = (v - vlp.ImageMean[ch]) / vlp.ImageStd[ch]
				}
			}
		}
	})
	return tensor.New(data, len(samples), 3, size, size)
}
