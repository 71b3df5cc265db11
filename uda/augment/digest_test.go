package augment

import (
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/vlpuda/vlpuda/internal/digesttest"
)

var updateDigests = flag.Bool("update-digests", false, "rewrite testdata/augment-digests.txt with this machine's digests")

// augmentDigestFile holds the SHA-256 of every transform's output on
// fixed inputs and seeds, the same on every GOARCH and build.
const augmentDigestFile = "testdata/augment-digests.txt"

// augmentDigestHeader heads augmentDigestFile.
const augmentDigestHeader = `SHA-256 of every transform's output at fixed seeds (TestAugmentDigests),
the same on every GOARCH (arm64 fuses a*b+c unless a product is converted)
and build. Regenerate: go test ./uda/augment -run TestAugmentDigests -update-digests`

// smoothImage returns a w×h image of smooth gradients, where a resampler's
// rounding shows more often than on noise.
func smoothImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := m.Pix[m.PixOffset(x, y):]
			p[0], p[1], p[2], p[3] = uint8(x*255/w), uint8(y*255/h), uint8((x*x+3*y*y)%256), 255
		}
	}
	return m
}

// transformFunc adapts a deterministic operation to a Transform.
type transformFunc struct {
	name string
	f    func(*image.RGBA) *image.RGBA
}

func (t transformFunc) Apply(img *image.RGBA, _ *rand.Rand) *image.RGBA { return t.f(img) }
func (t transformFunc) String() string                                  { return t.name }

// digestTransforms returns the transforms TestAugmentDigests runs, by name.
func digestTransforms(t *testing.T) map[string]Transform {
	ts := map[string]Transform{
		"Resize/down":               Resize{24, 20},
		"Resize/up":                 Resize{64, 61},
		"ResizeShorter":             ResizeShorter{20},
		"CenterCrop":                CenterCrop{30, 30},
		"RandomCrop":                RandomCrop{20, 20},
		"RandomResizedCrop/default": RandomResizedCrop{Size: 28, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}},
		"RandomResizedCrop/digits":  RandomResizedCrop{Size: 32, Scale: [2]float64{0.75, 1.2}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}},
		"HorizontalFlip":            HorizontalFlip{P: 0.5},
		"Pad":                       Pad{3},
		"RandomRotation/10":         RandomRotation{10},
		"RandomRotation/180":        RandomRotation{180},
		"ColorJitter":               ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4, Hue: 0.1},
		"RandAugment/fixmatch":      FixMatchRandAugment(),
		"RandAugment/n3-m7-mstd1":   RandAugment{N: 3, M: 7, MStd: 1, Fill: [3]uint8{9, 99, 199}},
		"AdjustHue":                 transformFunc{"AdjustHue", func(m *image.RGBA) *image.RGBA { return AdjustHue(m, 0.23) }},
		"AutoContrast":              transformFunc{"AutoContrast", AutoContrast},
		"Equalize":                  transformFunc{"Equalize", Equalize},
		"Affine/general/nearest":    affineCase(Nearest),
		"Affine/general/bilinear":   affineCase(Bilinear),
		"Affine/general/bicubic":    affineCase(Bicubic),
		"Affine/far/nearest": transformFunc{"far", func(m *image.RGBA) *image.RGBA {
			return Affine(m, [6]float64{0.7, 0.3, 40000, -0.2, 1.1, -3}, Nearest, CLIPFill)
		}},
		"Affine/scale/nearest": transformFunc{"scale", func(m *image.RGBA) *image.RGBA {
			return Affine(m, [6]float64{0.77, 0, 1.3, 0, 1.31, -2.2}, Nearest, CLIPFill)
		}},
		"USPSTrain":                   USPSTrain(32),
		"Compose/resize-rotate-color": Compose{Resize{40, 40}, RandomRotation{30}, ColorJitter{Brightness: 0.2, Contrast: 0.3}},
	}
	for _, interp := range []Interpolation{Nearest, Bilinear, Bicubic} {
		ts["Rotate/33.3/"+interp.String()] = transformFunc{"rotate", func(m *image.RGBA) *image.RGBA { return Rotate(m, 33.3, interp, CLIPFill) }}
	}
	for i, op := range randOps {
		for _, m := range []float64{2.5, 7, 10} {
			for _, interp := range []Interpolation{Bilinear, Bicubic} {
				if !op.geometric && interp == Bicubic {
					continue
				}
				level := op.level(m)
				if op.signed && i%2 == 0 {
					level = -level
				}
				name := fmt.Sprintf("RandOp/%s/m%g/%s", op.name, m, interp)
				ts[name] = transformFunc{name, func(img *image.RGBA) *image.RGBA { return op.apply(img, level, interp, CLIPFill) }}
			}
		}
	}
	for _, b := range Benchmarks {
		r, err := ForBenchmark(b, 32)
		if err != nil {
			t.Fatal(err)
		}
		ts["Recipe/"+b+"/train"], ts["Recipe/"+b+"/test"], ts["Recipe/"+b+"/strong"] = r.Train, r.Test, r.Strong
	}
	return ts
}

// affineCase is an Affine warp with a general matrix.
func affineCase(interp Interpolation) Transform {
	return transformFunc{"affine", func(m *image.RGBA) *image.RGBA {
		return Affine(m, [6]float64{0.93, 0.21, -1.7, -0.17, 1.08, 2.3}, interp, CLIPFill)
	}}
}

// TestAugmentDigests applies every transform, random ones at six seeds,
// to a noise image and a smooth one, and compares the SHA-256 of the
// outputs with augmentDigestFile.
func TestAugmentDigests(t *testing.T) {
	file := digesttest.Open(t, augmentDigestFile, augmentDigestHeader, *updateDigests)
	inputs := []*image.RGBA{testImage(37, 29, 5), smoothImage(48, 40)}
	for name, tr := range digestTransforms(t) {
		var b []byte
		for _, in := range inputs {
			for seed := range uint64(6) {
				out := origin(tr.Apply(in, newRand(seed)))
				for _, v := range []int{out.Rect.Dx(), out.Rect.Dy()} {
					b = binary.LittleEndian.AppendUint64(b, uint64(v))
				}
				b = append(b, out.Pix...)
			}
		}
		file.Check(t, name, digesttest.Sum(b))
	}
}
