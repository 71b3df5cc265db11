package run

import (
	"fmt"

	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
)

// NewTask builds the Task that Adapt trains on from the source and the
// target dataset: the labelled source stream, the unlabelled target stream
// (with FixMatch's strong view when cfg's method uses it; none when the
// method ignores the target) and the target test set, with the
// augmentations of preset p's benchmark at images of size×size. workers is
// the decoding goroutines per stream (0: GOMAXPROCS). Info.Meta is left
// for the caller. close stops the streams' loaders.
func NewTask(p Preset, cfg uda.Config, src, tgt *data.Dataset, size, workers int) (task Task, close func(), err error) {
	recipe, err := augment.ForBenchmark(p.Name, size)
	if err != nil {
		return task, nil, err
	}
	var streams []*uda.LoaderSource
	close = func() {
		for _, s := range streams {
			s.Close()
		}
	}
	stream := func(domain string, ds *data.Dataset, batch int, seed uint64, strong augment.Transform) (*uda.LoaderSource, error) {
		s, err := uda.NewLoaderSource(ds, uda.StreamConfig{Batch: batch, Seed: seed, Size: size,
			Transform: recipe.Train, Strong: strong, Workers: workers, Domain: domain})
		if err == nil {
			streams = append(streams, s)
		}
		return s, err
	}
	task.Info = taskInfo(p, src.Classes)
	task.Test = uda.NewImageSet(tgt, size, recipe.Test, nil)
	if task.Source, err = stream("source", src, p.SourceBatch, cfg.Seed, nil); err != nil {
		close()
		return task, nil, fmt.Errorf("source %s: %w", src.Root, err)
	}
	method := cfg.Objective.Method
	if method.UsesTarget() {
		var strong augment.Transform
		if method.UsesStrongView() {
			strong = recipe.Strong
		}
		if task.Target, err = stream("target", tgt, p.TargetBatch, cfg.Seed+1, strong); err != nil {
			close()
			return task, nil, fmt.Errorf("target %s: %w", tgt.Root, err)
		}
	}
	return task, close, nil
}
