package uda

import (
	"testing"

	"github.com/vlpuda/vlpuda/internal/testtask"
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
	src, err := MemoryImages(testtask.Domain(d, perClass, seed))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// testConfig is a tiny configuration: a few iterations, large learning
// rates so that something is learnt, a ramp that saturates at once so the
// CMKD terms count.
func testConfig(m Method) Config {
	c := DefaultConfig()
	c.Objective = DefaultObjective(m)
	c.Objective.Ramp.MaxIter = 8
	c.Objective.FixMatchThreshold = 0.6
	c.Epochs, c.ItersPerEpoch = 3, 4
	c.LR, c.HeadLRMult = 1e-3, 30
	c.EvalBatch, c.LogEvery = 16, 2
	return c
}
