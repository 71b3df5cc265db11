package augment

// Colour operations as PIL computes them on 8-bit RGB images: the
// ImageOps look-up-table operations, the ImageEnhance blends
// (libImaging/Blend.c, in float32), the RGB → L conversion (Convert.c,
// fixed point) and the 3×3 SMOOTH filter (Filter.c, float32), so that the
// results equal PIL's pixel for pixel.

import (
	"fmt"
	"image"
	"math"
)

// lut maps every colour channel of img through its table: tables[c][v] is
// the new value of v in channel c.
func lut(img *image.RGBA, tables *[3][256]uint8) *image.RGBA {
	img = origin(img)
	out := image.NewRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i] = tables[0][img.Pix[i]]
		out.Pix[i+1] = tables[1][img.Pix[i+1]]
		out.Pix[i+2] = tables[2][img.Pix[i+2]]
		out.Pix[i+3] = 255
	}
	return out
}

// sameLUT returns tables that map all three channels through f.
func sameLUT(f func(v int) int) *[3][256]uint8 {
	var t [3][256]uint8
	for v := range 256 {
		x := uint8(max(0, min(255, f(v))))
		t[0][v], t[1][v], t[2][v] = x, x, x
	}
	return &t
}

// histograms counts each channel's values.
func histograms(img *image.RGBA) *[3][256]int {
	var h [3][256]int
	img = origin(img)
	for i := 0; i < len(img.Pix); i += 4 {
		h[0][img.Pix[i]]++
		h[1][img.Pix[i+1]]++
		h[2][img.Pix[i+2]]++
	}
	return &h
}

// Invert returns 255 − v in every channel (PIL's ImageOps.invert).
func Invert(img *image.RGBA) *image.RGBA {
	return lut(img, sameLUT(func(v int) int { return 255 - v }))
}

// Posterize keeps the top bits of every channel and zeroes the rest
// (PIL's ImageOps.posterize); bits ≥ 8 leave the image as it is and 0
// makes it black.
func Posterize(img *image.RGBA, bits int) *image.RGBA {
	if bits < 0 {
		panic(fmt.Sprintf("augment: Posterize: %d bits", bits))
	}
	if bits >= 8 {
		return img
	}
	mask := ^(1<<(8-bits) - 1)
	return lut(img, sameLUT(func(v int) int { return v & mask }))
}

// Solarize inverts every value at or above threshold (PIL's
// ImageOps.solarize); a threshold of 256 or more changes nothing.
func Solarize(img *image.RGBA, threshold int) *image.RGBA {
	return lut(img, sameLUT(func(v int) int {
		if v < threshold {
			return v
		}
		return 255 - v
	}))
}

// SolarizeAdd adds add to every value below threshold, clipped at 255
// (timm's solarize_add).
func SolarizeAdd(img *image.RGBA, add, threshold int) *image.RGBA {
	return lut(img, sameLUT(func(v int) int {
		if v < threshold {
			return min(255, v+add)
		}
		return v
	}))
}

// AutoContrast stretches each channel so that its darkest value becomes 0
// and its lightest 255 (PIL's ImageOps.autocontrast with no cutoff): v
// maps to int(v·s − lo·s) with s = 255/(hi − lo), truncated and clipped.
// A channel of one value is left as it is.
func AutoContrast(img *image.RGBA) *image.RGBA {
	h := histograms(img)
	var t [3][256]uint8
	for c := range 3 {
		lo, hi := 0, 255
		for lo < 256 && h[c][lo] == 0 {
			lo++
		}
		for hi >= 0 && h[c][hi] == 0 {
			hi--
		}
		if hi <= lo {
			for v := range 256 {
				t[c][v] = uint8(v)
			}
			continue
		}
		scale := 255 / float64(hi-lo)
		offset := float64(-float64(lo) * scale)
		for v := range 256 {
			x := int(float64(float64(v)*scale) + offset)
			t[c][v] = uint8(max(0, min(255, x)))
		}
	}
	return lut(img, &t)
}

// Equalize flattens each channel's histogram (PIL's ImageOps.equalize):
// with step = (n − count of the top value) / 255, rounded down, value v
// maps to (step/2 + the count below v) / step, clipped at 255. A channel
// with one value, or too few pixels for a step, is left as it is.
func Equalize(img *image.RGBA) *image.RGBA {
	h := histograms(img)
	var t [3][256]uint8
	for c := range 3 {
		total, last, used := 0, 0, 0
		for _, n := range h[c] {
			if n > 0 {
				total += n
				last = n
				used++
			}
		}
		step := (total - last) / 255
		if used <= 1 || step == 0 {
			for v := range 256 {
				t[c][v] = uint8(v)
			}
			continue
		}
		n := step / 2
		for v := range 256 {
			t[c][v] = uint8(min(255, n/step))
			n += h[c][v]
		}
	}
	return lut(img, &t)
}

// luma is PIL's RGB → L conversion: (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16.
func luma(r, g, b uint8) uint8 {
	return uint8((int(r)*19595 + int(g)*38470 + int(b)*7471 + 0x8000) >> 16)
}

// blend is PIL's Image.blend(a, b, alpha) = a + alpha·(b − a) per byte in
// float32, truncated; outside 0 ≤ alpha ≤ 1 the result is clipped first.
// alpha is converted to float32 as PIL's argument parsing does.
func blend(a, b *image.RGBA, alpha float64) *image.RGBA {
	al := float32(alpha)
	out := image.NewRGBA(a.Rect)
	inside := al >= 0 && al <= 1
	for i := 0; i < len(a.Pix); i += 4 {
		for c := range 3 {
			x, y := int(a.Pix[i+c]), int(b.Pix[i+c])
			v := float32(x) + float32(al*float32(y-x))
			switch {
			case inside:
				out.Pix[i+c] = uint8(v)
			case v <= 0:
				out.Pix[i+c] = 0
			case v >= 255:
				out.Pix[i+c] = 255
			default:
				out.Pix[i+c] = uint8(v)
			}
		}
		out.Pix[i+3] = 255
	}
	return out
}

// Brightness blends img with black (PIL's ImageEnhance.Brightness):
// factor 0 gives black, 1 the image.
func Brightness(img *image.RGBA, factor float64) *image.RGBA {
	img = origin(img)
	w, h := size(img)
	return blend(newImage(w, h), img, factor)
}

// Color blends img with its own grey version (PIL's ImageEnhance.Color,
// torchvision's adjust_saturation): factor 0 gives grey, 1 the image.
func Color(img *image.RGBA, factor float64) *image.RGBA {
	img = origin(img)
	grey := image.NewRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		l := luma(img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		grey.Pix[i], grey.Pix[i+1], grey.Pix[i+2], grey.Pix[i+3] = l, l, l, 255
	}
	return blend(grey, img, factor)
}

// Contrast blends img with a flat grey of its mean luma, rounded (PIL's
// ImageEnhance.Contrast, torchvision's adjust_contrast): factor 0 gives
// the flat grey, 1 the image.
func Contrast(img *image.RGBA, factor float64) *image.RGBA {
	img = origin(img)
	var sum, n int
	for i := 0; i < len(img.Pix); i += 4 {
		sum += int(luma(img.Pix[i], img.Pix[i+1], img.Pix[i+2]))
		n++
	}
	mean := uint8(int(float64(sum)/float64(n) + 0.5))
	w, h := size(img)
	return blend(filled(w, h, [3]uint8{mean, mean, mean}), img, factor)
}

// Sharpness blends img with its SMOOTH-filtered version (PIL's
// ImageEnhance.Sharpness): factor 0 gives the smoothed image, 1 the
// image, 2 a sharpened one.
func Sharpness(img *image.RGBA, factor float64) *image.RGBA {
	img = origin(img)
	return blend(smooth(img), img, factor)
}

// smooth is PIL's ImageFilter.SMOOTH, the 3×3 kernel
//
//	1 1 1
//	1 5 1  / 13
//	1 1 1
//
// in float32 with the kernel divided first and 0.5 added for rounding;
// the border rows and columns are copied unchanged.
func smooth(img *image.RGBA) *image.RGBA {
	w, h := size(img)
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	if w < 3 || h < 3 {
		return out
	}
	k1, k5 := float32(1)/float32(13), float32(5)/float32(13)
	row := func(p []uint8, x int, k0, k1, k2 float32) float32 {
		return float32(float32(float32(p[x-4])*k0)+float32(float32(p[x])*k1)) + float32(float32(p[x+4])*k2)
	}
	for y := 1; y < h-1; y++ {
		up, mid, down := img.Pix[(y-1)*4*w:], img.Pix[y*4*w:], img.Pix[(y+1)*4*w:]
		dst := out.Pix[y*4*w:]
		for x := 1; x < w-1; x++ {
			for c := range 3 {
				i := 4*x + c
				s := float32(0.5)
				s += row(down, i, k1, k1, k1)
				s += row(mid, i, k1, k5, k1)
				s += row(up, i, k1, k1, k1)
				switch {
				case s <= 0:
					dst[i] = 0
				case s >= 255:
					dst[i] = 255
				default:
					dst[i] = uint8(s)
				}
			}
		}
	}
	return out
}

// AdjustHue shifts the hue of img by factor of a full turn, factor in
// [−0.5, 0.5], as torchvision's adjust_hue does on a PIL image: convert
// to PIL's 8-bit HSV, add uint8(factor·255) to H modulo 256, convert back.
// The 8-bit round trip is lossy, so even factor 0 changes some colours
// slightly, as it does in torchvision.
func AdjustHue(img *image.RGBA, factor float64) *image.RGBA {
	if !(factor >= -0.5 && factor <= 0.5) {
		panic(fmt.Sprintf("augment: AdjustHue: factor %v outside [-0.5, 0.5]", factor))
	}
	img = origin(img)
	shift := uint8(int64(factor * 255)) // NumPy's float → uint8 cast: truncate, wrap
	out := image.NewRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		h, s, v := rgbToHSV(img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = hsvToRGB(h+shift, s, v)
		out.Pix[i+3] = 255
	}
	return out
}

// rgbToHSV is PIL's rgb2hsv_row, float32 variables with double
// intermediates where the C code has them.
func rgbToHSV(r, g, b uint8) (h, s, v uint8) {
	maxc, minc := max(r, g, b), min(r, g, b)
	if maxc == minc {
		return 0, 0, maxc
	}
	cr := float32(maxc - minc)
	sf := cr / float32(maxc)
	rc := float32(maxc-r) / cr
	gc := float32(maxc-g) / cr
	bc := float32(maxc-b) / cr
	var hf float32
	switch {
	case r == maxc:
		hf = bc - gc
	case g == maxc:
		hf = float32(float64(2.0+float64(rc)) - float64(bc))
	default:
		hf = float32(float64(4.0+float64(gc)) - float64(rc))
	}
	hf = float32(math.Mod(float64(hf)/6.0+1.0, 1.0))
	return clip8(int(float64(hf) * 255.0)), clip8(int(float64(sf) * 255.0)), maxc
}

// hsvToRGB is PIL's hsv2rgb.
func hsvToRGB(h, s, v uint8) (r, g, b uint8) {
	if s == 0 {
		return v, v, v
	}
	hh := float64(float32(h)) * 6.0 / 255.0
	i := int(math.Floor(hh))
	f := float32(hh - float64(float32(i)))
	fs := float32(float64(float32(s)) / 255.0)
	fv := float64(float32(v))
	p := clip8(int(math.Round(fv * (1.0 - float64(fs)))))
	q := clip8(int(math.Round(fv * (1.0 - float64(float64(fs)*float64(f))))))
	t := clip8(int(math.Round(fv * (1.0 - float64(float64(fs)*(1.0-float64(f)))))))
	switch i % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

func clip8(v int) uint8 { return uint8(max(0, min(255, v))) }
