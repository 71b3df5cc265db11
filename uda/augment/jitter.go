package augment

import (
	"fmt"
	"image"
	"math/rand/v2"
)

// ColorJitter changes brightness, contrast, saturation and hue by random
// factors, like torchvision's ColorJitter on a PIL image: it draws a
// random order of the four adjustments, then the factors — brightness,
// contrast and saturation uniformly from [max(0, 1−v), 1+v], hue from
// [−Hue, Hue] — and applies each adjustment whose value is non-zero, in
// that order (Brightness, Contrast, Color and AdjustHue).
type ColorJitter struct {
	Brightness, Contrast, Saturation float64 // ≥ 0
	Hue                              float64 // in [0, 0.5]
}

// Apply jitters img.
func (t ColorJitter) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	if t.Brightness < 0 || t.Contrast < 0 || t.Saturation < 0 || !(t.Hue >= 0 && t.Hue <= 0.5) {
		panic(fmt.Sprintf("augment: %v: negative factor or hue outside [0, 0.5]", t))
	}
	order := r.Perm(4)
	var factor [4]float64
	for i, v := range []float64{t.Brightness, t.Contrast, t.Saturation} {
		if v > 0 {
			factor[i] = uniform(r, max(0, 1-v), 1+v)
		}
	}
	if t.Hue > 0 {
		factor[3] = uniform(r, -t.Hue, t.Hue)
	}
	for _, k := range order {
		switch {
		case k == 0 && t.Brightness > 0:
			img = Brightness(img, factor[0])
		case k == 1 && t.Contrast > 0:
			img = Contrast(img, factor[1])
		case k == 2 && t.Saturation > 0:
			img = Color(img, factor[2])
		case k == 3 && t.Hue > 0:
			img = AdjustHue(img, factor[3])
		}
	}
	return img
}

func (t ColorJitter) String() string {
	return fmt.Sprintf("ColorJitter(brightness=%g, contrast=%g, saturation=%g, hue=%g)",
		t.Brightness, t.Contrast, t.Saturation, t.Hue)
}
