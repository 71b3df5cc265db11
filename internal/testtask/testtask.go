// Package testtask holds what the tests of uda, uda/run and uda/demo train
// on: the tiny ViT CLIP of testdata/ and a synthetic two-domain dataset of
// circles, squares and triangles.
package testtask

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/vlp"
)

// LoadTiny loads the tiny ViT CLIP (32×32 images, 32-dimensional
// embeddings) from testdata/, failing t if it cannot.
func LoadTiny(t testing.TB) *vlp.CLIP {
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

// Classes are the classes of the synthetic domains.
var Classes = []string{"circle", "square", "triangle"}

// Image draws one synthetic image of class k (0 circle, 1 square, 2
// triangle) in domain d: domain 0 draws saturated shapes on a dark, noisy
// background; domain 1, the shifted target, draws paler shapes with other
// hues on a light background.
func Image(rng *rand.Rand, k, d, size int) image.Image {
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

// Domain returns perClass 40×40 images of every class of domain d, class
// by class, drawn from seed, and their labels.
func Domain(d, perClass int, seed uint64) ([]image.Image, []int) {
	rng := rand.New(rand.NewPCG(seed, uint64(d)))
	var imgs []image.Image
	var labels []int
	for k := range Classes {
		for range perClass {
			imgs = append(imgs, Image(rng, k, d, 40))
			labels = append(labels, k)
		}
	}
	return imgs, labels
}
