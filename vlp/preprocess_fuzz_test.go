package vlp

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzPreprocess runs both transforms on fuzzed images: sizes from 1×1 to
// long strips, bounds that do not start at the origin, grey, RGBA, NRGBA
// and paletted pixels, and output sizes larger and smaller than the
// image. Nothing may panic, and every output value must be finite and
// inside the range normalisation maps [0, 255] to.
func FuzzPreprocess(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(4), uint8(0), int8(0), int8(0), uint64(1))
	f.Add(uint8(63), uint8(2), uint8(17), uint8(1), int8(-5), int8(3), uint64(2))
	f.Add(uint8(9), uint8(40), uint8(32), uint8(2), int8(7), int8(-9), uint64(3))
	f.Fuzz(func(t *testing.T, w, h, size, kind uint8, x0, y0 int8, seed uint64) {
		iw, ih, s := 1+int(w%64), 1+int(h%64), 1+int(size%40)
		r := image.Rect(int(x0), int(y0), int(x0)+iw, int(y0)+ih)
		rng := rand.New(rand.NewPCG(seed, 1))
		var img image.Image
		switch kind % 4 {
		case 0:
			m := image.NewGray(r)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.IntN(256))
			}
			img = m
		case 1:
			m := image.NewRGBA(r)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.IntN(256))
			}
			img = m
		case 2:
			m := image.NewNRGBA(r)
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.IntN(256))
			}
			img = m
		default:
			m := image.NewPaletted(r, color.Palette{color.Black, color.White, color.RGBA{200, 10, 30, 255}})
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.IntN(3))
			}
			img = m
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for c := range 3 {
			lo = min(lo, float64((0-ImageMean[c])/ImageStd[c]))
			hi = max(hi, float64((1-ImageMean[c])/ImageStd[c]))
		}
		for _, tr := range []Transform{ResizeCrop, ResizeSquash} {
			x := Preprocess([]image.Image{img}, s, tr)
			for i, v := range x.Data() {
				if fv := float64(v); math.IsNaN(fv) || fv < lo-1e-5 || fv > hi+1e-5 {
					t.Fatalf("%v %dx%d at %v to %d: value %d = %v outside [%v, %v]", tr, iw, ih, r.Min, s, i, v, lo, hi)
				}
			}
		}
	})
}
