package run

import (
	"testing"

	"github.com/vlpuda/vlpuda/internal/testtask"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/vlp"
)

// loadTiny loads the tiny ViT CLIP (32×32 images, 32-dimensional
// embeddings).
func loadTiny(t testing.TB) *vlp.CLIP { return testtask.LoadTiny(t) }

// shapeClasses are the classes of the synthetic domains.
var shapeClasses = testtask.Classes

// shapeDomain returns perClass images of every class of domain d, class by
// class, drawn from seed (testtask.Domain).
func shapeDomain(t testing.TB, d, perClass int, seed uint64) data.Source {
	t.Helper()
	src, err := uda.MemoryImages(testtask.Domain(d, perClass, seed))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// testConfig is a tiny configuration: a few iterations, large learning
// rates so that something is learnt, a ramp that saturates at once so the
// CMKD terms count.
func testConfig(m uda.Method) uda.Config {
	c := uda.DefaultConfig()
	c.Objective = uda.DefaultObjective(m)
	c.Objective.Ramp.MaxIter = 8
	c.Objective.FixMatchThreshold = 0.6
	c.Epochs, c.ItersPerEpoch = 3, 4
	c.LR, c.HeadLRMult = 1e-3, 30
	c.EvalBatch, c.LogEvery = 16, 2
	return c
}

// testTask returns a task of the synthetic domains (source 0, target 1)
// with the office31 recipe at the tiny model's 32 pixels; the streams are
// closed when the test ends.
func testTask(t testing.TB, m uda.Method, batch int, seed uint64) Task {
	t.Helper()
	recipe, err := augment.ForBenchmark("office31", 32)
	if err != nil {
		t.Fatal(err)
	}
	src, tgt := shapeDomain(t, 0, 8, 1), shapeDomain(t, 1, 8, 2)
	stream := func(imgs data.Source, seed uint64, strong augment.Transform) uda.Source {
		s, err := uda.NewLoaderSource(imgs, uda.StreamConfig{Batch: batch, Seed: seed, Size: 32, Transform: recipe.Train, Strong: strong})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	var strong augment.Transform
	if m.UsesStrongView() {
		strong = recipe.Strong
	}
	return Task{
		Info:   uda.TaskInfo{Classes: shapeClasses, Template: vlp.TemplatePhoto, Benchmark: "office31"},
		Source: stream(src, seed, nil),
		Target: stream(tgt, seed+1, strong),
		Test:   uda.NewImageSet(tgt, 32, recipe.Test, nil),
	}
}
