package vlp

import (
	"fmt"
	"image"
	"math"

	"github.com/vlpuda/vlpuda/kernels"
)

// ResizeBicubic returns img resized to w×h with PIL's BICUBIC filter on
// 8-bit data, equal to PIL's Image.resize((w, h), BICUBIC) bit for bit.
//
// PIL's resampler (libImaging/Resample.c) is separable: a horizontal pass
// into an 8-bit intermediate image, then a vertical pass, each skipped when
// that side keeps its size. Output pixel i of a pass is a weighted sum of
// the inputs around the centre c = (i + 0.5)·scale, scale = in/out. The
// weights are the cubic convolution kernel with a = −0.5 evaluated at
// (j − c + 0.5)/s for input j, where s = max(scale, 1): when shrinking the
// kernel is stretched by the scale, which antialiases. The weights of one
// output are divided by their sum, turned into 22-bit fixed point (rounded
// away from zero) and applied to the 8-bit samples with integer sums;
// each result is rounded and clipped to [0, 255]. Only R, G and B are
// resampled; the result is opaque.
//
// An image that already has the size is returned unchanged.
func ResizeBicubic(img *image.RGBA, w, h int) *image.RGBA {
	return resize("ResizeBicubic", img, w, h, filter{support: 2, kernel: bicubic})
}

// filter is a resampling kernel with its support (half-width) in input
// samples at scale 1.
type filter struct {
	support float64
	kernel  func(float64) float64
}

// resize is PIL's separable resampler, the body of ResizeBicubic and
// ResizeBilinear: a horizontal pass, then a vertical one, each skipped when
// that side keeps its size.
func resize(op string, img *image.RGBA, w, h int, f filter) *image.RGBA {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || iw <= 0 || ih <= 0 {
		panic(fmt.Sprintf("vlp: %s: %dx%d image to %dx%d", op, iw, ih, w, h))
	}
	if w == iw && h == ih {
		return img
	}
	vert := filterWeights(ih, h, f)
	src := img
	if w != iw {
		// Only the rows the vertical pass reads are resampled.
		first := vert.start[0]
		last := vert.start[h-1] + vert.count[h-1]
		if h == ih {
			first, last = 0, ih
		}
		src = resampleRows(img, b.Min.Y+first, last-first, filterWeights(iw, w, f))
		for i := range vert.start {
			vert.start[i] -= first
		}
	}
	if h == ih {
		return src
	}
	return resampleColumns(src, vert)
}

// precisionBits is the fixed-point precision of the weights: 32 bits less
// 8 for the samples and 2 for sums that exceed the range of one sample.
const precisionBits = 32 - 8 - 2

// resampleWeights holds a pass's weights: output i reads count[i] inputs
// from start[i] with the weights k[i*taps:][:count[i]].
type resampleWeights struct {
	taps         int
	start, count []int
	k            []int32
}

// bicubic is the cubic convolution kernel with a = −0.5 (Keys), support 2.
func bicubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		p := float64((a+2)*x) - (a + 3)
		return float64(float64(p*x)*x) + 1
	}
	if x < 2 {
		p := float64((x-5)*x) + 8
		p = float64(p*x) - 4
		return float64(p * a)
	}
	return 0
}

// clip8 turns a fixed-point sum into a sample: shift, then clip.
func clip8(s int32) uint8 {
	v := s >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// rowGrain is the number of rows a pass gives one ParallelFor chunk at
// least, for about 64k multiply-adds per chunk.
func rowGrain(width, taps int) int {
	return max(1, (1<<16)/max(1, width*taps*3))
}

// resampleRows is the horizontal pass over the n rows of img from row y0
// (absolute), into a new opaque image of width len(wt.start).
func resampleRows(img *image.RGBA, y0, n int, wt resampleWeights) *image.RGBA {
	w := len(wt.start)
	out := image.NewRGBA(image.Rect(0, 0, w, n))
	x0 := img.Bounds().Min.X
	kernels.ParallelFor(n, rowGrain(w, wt.taps), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			src := img.Pix[img.PixOffset(x0, y0+y):]
			dst := out.Pix[y*out.Stride:]
			for i := range w {
				k := wt.k[i*wt.taps : i*wt.taps+wt.count[i]]
				s := src[4*wt.start[i] : 4*(wt.start[i]+len(k))]
				r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
				for j, kj := range k {
					p := s[4*j : 4*j+4]
					r += int32(p[0]) * kj
					g += int32(p[1]) * kj
					b += int32(p[2]) * kj
				}
				q := dst[4*i : 4*i+4]
				q[0], q[1], q[2], q[3] = clip8(r), clip8(g), clip8(b), 255
			}
		}
	})
	return out
}

// resampleColumns is the vertical pass over img into a new opaque image of
// height len(wt.start); wt.start counts rows from img's top.
func resampleColumns(img *image.RGBA, wt resampleWeights) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), len(wt.start)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	kernels.ParallelFor(h, rowGrain(w, wt.taps), func(lo, hi int) {
		acc := make([]int32, 3*w)
		for y := lo; y < hi; y++ {
			for i := range acc {
				acc[i] = 1 << (precisionBits - 1)
			}
			k := wt.k[y*wt.taps : y*wt.taps+wt.count[y]]
			for j, kj := range k {
				off := img.PixOffset(b.Min.X, b.Min.Y+wt.start[y]+j)
				src := img.Pix[off : off+4*w]
				for x := range w {
					p, a := src[4*x:4*x+4], acc[3*x:3*x+3]
					a[0] += int32(p[0]) * kj
					a[1] += int32(p[1]) * kj
					a[2] += int32(p[2]) * kj
				}
			}
			dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
			for x := range w {
				q, a := dst[4*x:4*x+4], acc[3*x:3*x+3]
				q[0], q[1], q[2], q[3] = clip8(a[0]), clip8(a[1]), clip8(a[2]), 255
			}
		}
	})
	return out
}
