package run

import (
	"context"
	"fmt"
	"os"

	"github.com/vlpuda/vlpuda/uda"
)

// probeEvalBatches is the number of test batches a probe evaluates.
const probeEvalBatches = 2

// Probe runs a short version of run i of the plan p in the folder out,
// which must be empty or absent: the same model, data, method, batch
// sizes and threads, but steps iterations in one epoch, an evaluation of
// the first two test batches, and the checkpoint and files a run writes
// at its end. It is what "vlpuda sweep plan" measures a worker's peak
// memory on; its accuracies mean nothing. Probe leaves its files in out.
func Probe(ctx context.Context, p *Plan, i int, out string, steps int, opt PlanOptions) error {
	r, err := p.Run(i)
	if err != nil {
		return err
	}
	if steps <= 0 {
		return fmt.Errorf("run: probe: %d steps; want at least 1", steps)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("run: probe: %w", err)
	}
	pr := &planned{Planned: r, plan: p, out: out, opt: opt, probe: steps}
	if _, err := pr.run(ctx); err != nil {
		return fmt.Errorf("run: probe of run %d: %w", i, err)
	}
	return nil
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
