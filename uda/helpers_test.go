package uda

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/vlp"
)

// loadTiny loads the tiny ViT CLIP (32×32 images, 32-dimensional
// embeddings).
func loadTiny(t testing.TB) *vlp.CLIP {
	t.Helper()
	cfg, err := vlp.ReadConfig(fixture.Path(t, "clip-tiny", "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := vlp.Load(fixture.Path(t, "clip-tiny", "vit", "model.safetensors"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// shapeClasses are the classes of the synthetic domains.
var shapeClasses = []string{"circle", "square", "triangle"}

// shapeImage draws one synthetic image of class k (0 circle, 1 square, 2
// triangle) in domain d: domain 0 draws saturated shapes on a dark, noisy
// background; domain 1, the shifted target, draws paler shapes with other
// hues on a light background.
func shapeImage(rng *rand.Rand, k, d, size int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	bg := [3]float64{30, 30, 40}
	ink := [][3]float64{{220, 40, 40}, {40, 200, 60}, {50, 70, 230}}[k]
	if d == 1 {
		bg = [3]float64{200, 205, 190}
		ink = [][3]float64{{230, 140, 40}, {30, 150, 150}, {150, 60, 200}}[k]
	}
	r := float64(size) * (0.22 + 0.1*rng.Float64())
	cx := float64(size)/2 + (rng.Float64()-0.5)*float64(size)*0.3
	cy := float64(size)/2 + (rng.Float64()-0.5)*float64(size)*0.3
	for y := range size {
		for x := range size {
			fx, fy := float64(x)+0.5-cx, float64(y)+0.5-cy
			var in bool
			switch k {
			case 0:
				in = fx*fx+fy*fy <= r*r
			case 1:
				in = math.Abs(fx) <= r*0.85 && math.Abs(fy) <= r*0.85
			default:
				in = fy <= r*0.8 && fy >= -r && math.Abs(fx) <= (fy+r)*0.6
			}
			c := bg
			if in {
				c = ink
			}
			noise := rng.NormFloat64() * 12
			img.SetRGBA(x, y, color.RGBA{clamp8(c[0] + noise), clamp8(c[1] + noise), clamp8(c[2] + noise), 255})
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(min(max(math.Round(v), 0), 255)) }

// shapeDomain returns perClass images of every class of domain d, class by
// class, drawn from seed.
func shapeDomain(t testing.TB, d, perClass int, seed uint64) data.Source {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(d)))
	var imgs []image.Image
	var labels []int
	for k := range shapeClasses {
		for range perClass {
			imgs = append(imgs, shapeImage(rng, k, d, 40))
			labels = append(labels, k)
		}
	}
	src, err := MemoryImages(imgs, labels)
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
