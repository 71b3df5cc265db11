package vlp

import (
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
	return resize("ResizeBilinear", img, w, h, filter{support: 1, kernel: triangle})
}

// triangle is PIL's bilinear kernel, support 1.
func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// filterWeights computes the weights of a pass from in to out samples. The
// floating-point steps are those of PIL's precompute_coeffs, in the same
// order and precision; the float64 conversions keep the compiler from
// fusing a multiply and an add, which would change the rounding.
func filterWeights(in, out int, f filter) resampleWeights {
	support, kernel := f.support, f.kernel
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	sup := float64(support * filterScale)
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
		center := float64((float64(i) + 0.5) * scale)
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
