package run

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vlpuda/vlpuda/uda"
)

// probeEvalBatches is the number of test batches a probe evaluates.
const probeEvalBatches = 2

// Probe runs a short version of run i of the plan p in the folder out,
// which must be empty or absent: the same model, data, method, batch
// sizes and threads, but steps iterations in one epoch, an evaluation of
// the first two test batches, and the checkpoint and files a run writes
// at its end. It is what "vlpuda sweep plan" measures a worker's peak
// memory and the time of a run on; its accuracies mean nothing. Probe
// leaves its files in out.
func Probe(ctx context.Context, p *Plan, i int, out string, steps int, opt PlanOptions) (*ProbeResult, error) {
	r, err := p.Run(i)
	if err != nil {
		return nil, err
	}
	if steps <= 0 {
		return nil, fmt.Errorf("run: probe: %d steps; want at least 1", steps)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("run: probe: %w", err)
	}
	res := new(ProbeResult)
	var clock probeClock
	pr := &planned{Planned: r, plan: p, out: out, opt: opt, probe: steps, probed: res}
	pr.opt.Progress = func(e Event) {
		clock.observe(e)
		opt.event(e)
	}
	if _, err := pr.run(ctx); err != nil {
		return nil, fmt.Errorf("run: probe of run %d: %w", i, err)
	}
	res.StepSeconds, res.EvalImageSeconds = clock.rates()
	return res, nil
}

// ProbeResult is what a probe timed, and the size of the whole run it
// stands for.
type ProbeResult struct {
	// StepSeconds is the wall time of a training step after the first
	// (zero for a zero-shot run or a one-step probe), EvalImageSeconds
	// that of evaluating one test image.
	StepSeconds      float64 `json:"step_seconds"`
	EvalImageSeconds float64 `json:"eval_image_seconds"`
	// RunSteps is the whole run's number of training steps, RunEvals its
	// evaluations of the target's TestImages (one per epoch).
	RunSteps   int `json:"run_steps"`
	RunEvals   int `json:"run_evals"`
	TestImages int `json:"test_images"`
}

// Seconds estimates the wall time of the whole run from the probe's
// rates, on the machine and threads the probe ran on, without loading
// the model and data; it is zero when the probe timed no step of a run
// that trains.
func (p *ProbeResult) Seconds() float64 {
	if p.RunSteps > 0 && p.StepSeconds == 0 {
		return 0
	}
	return float64(p.RunSteps)*p.StepSeconds + float64(p.RunEvals*p.TestImages)*p.EvalImageSeconds
}

// probeClock times a probe's iterations and evaluation from its events.
type probeClock struct {
	steps      []time.Time // when each iteration ended
	evalImages int         // images evaluated after the last iteration
	evalEnd    time.Time   // when the last evaluation batch ended
	evalStart  time.Time   // when the first one ended (zero-shot: no iteration before it)
	firstBatch int         // images in that first batch (zero-shot)
}

func (c *probeClock) observe(e Event) {
	if e.Step == nil {
		return
	}
	now := time.Now()
	switch {
	case e.Step.Step != nil:
		c.steps = append(c.steps, now)
	case e.Step.Eval != nil:
		c.evalEnd, c.evalImages = now, e.Step.Eval.Images
	case e.Step.Iter > 0: // a batch of a zero-shot evaluation
		if c.evalStart.IsZero() {
			c.evalStart, c.firstBatch = now, e.Step.Iter
		}
		c.evalEnd, c.evalImages = now, e.Step.Iter
	}
}

// rates returns the seconds per training step after the first and per
// test image.
func (c *probeClock) rates() (step, image float64) {
	if n := len(c.steps); n >= 2 {
		step = c.steps[n-1].Sub(c.steps[0]).Seconds() / float64(n-1)
	}
	switch {
	case len(c.steps) > 0 && c.evalImages > 0:
		image = c.evalEnd.Sub(c.steps[len(c.steps)-1]).Seconds() / float64(c.evalImages)
	case c.evalImages > c.firstBatch: // zero-shot: the batches after the first
		image = c.evalEnd.Sub(c.evalStart).Seconds() / float64(c.evalImages-c.firstBatch)
	}
	return step, image
}

// firstImages is the first n images of an evaluation set.
type firstImages struct {
	uda.EvalSet
	n int
}

func (f firstImages) Len() int { return f.n }

func (f firstImages) Batch(lo, hi int) (uda.Batch, error) {
	if hi > f.n {
		return uda.Batch{}, fmt.Errorf("run: images %d to %d of %d", lo, hi, f.n)
	}
	return f.EvalSet.Batch(lo, hi)
}
