package vlp

import (
	"fmt"
	"image"
	"math"
)

// ResizeBilinear returns img resized to w×h with PIL's BILINEAR filter on
// 8-bit data, equal to PIL's Image.resize((w, h), BILINEAR) bit for bit.
// It is torchvision's default interpolation for Resize and
// RandomResizedCrop on PIL images, which the paper's data pipelines use.
//
// The resampler is the one ResizeBicubic describes, with the triangle
// kernel max(0, 1 − |x|) of support 1 in place of the cubic one: when
// shrinking, the kernel is stretched by the scale, so the result is
// antialiased like torchvision's antialias=True.
//
// An image that already has the size is returned unchanged.
func ResizeBilinear(img *image.RGBA, w, h int) *image.RGBA {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || iw <= 0 || ih <= 0 {
		panic(fmt.Sprintf("vlp: ResizeBilinear: %dx%d image to %dx%d", iw, ih, w, h))
	}
	if w == iw && h == ih {
		return img
	}
	vert := filterWeights(ih, h, 1, triangle)
	src := img
	if w != iw {
		// Only the rows the vertical pass reads are resampled.
		first := vert.start[0]
		last := vert.start[h-1] + vert.count[h-1]
		if h == ih {
			first, last = 0, ih
		}
		src = resampleRows(img, b.Min.Y+first, last-first, filterWeights(iw, w, 1, triangle))
		for i := range vert.start {
			vert.start[i] -= first
		}
	}
	if h == ih {
		return src
	}
	return resampleColumns(src, vert)
}

// triangle is PIL's bilinear kernel, support 1.
func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// filterWeights computes the weights of a pass from in to out samples for
// a kernel of the given support, in the steps and precision of PIL's
// precompute_coeffs (see bicubicWeights, which is this function with the
// cubic kernel).
func filterWeights(in, out int, support float64, kernel func(float64) float64) resampleWeights {
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	sup := support * filterScale
	taps := int(math.Ceil(sup))*2 + 1
	r := resampleWeights{
		taps:  taps,
		start: make([]int, out),
		count: make([]int, out),
		k:     make([]int32, out*taps),
	}
	ws := make([]float64, taps)
	inv := 1 / filterScale
	for i := range out {
		center := (float64(i) + 0.5) * scale
		lo := max(int(center-sup+0.5), 0)
		hi := min(int(center+sup+0.5), in)
		n := hi - lo
		sum := 0.0
		for j := range n {
			ws[j] = kernel((float64(j+lo) - center + 0.5) * inv)
			sum += ws[j]
		}
		k := r.k[i*taps : i*taps+n]
		for j := range n {
			v := ws[j]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[j] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[j] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		r.start[i], r.count[i] = lo, n
	}
	return r
}
