package vlp

// Image preprocessing as CLIP's reference pipeline does it with PIL and
// torchvision: clip._transform(n_px) is
//
//	Resize(n_px, BICUBIC) → CenterCrop(n_px) → convert("RGB") → ToTensor → Normalize(mean, std)
//
// and torchvision's ImageFolder converts every image to RGB when it loads
// it, before any transform. Datasets are read that way, so Preprocess
// converts first too. (The order matters only for paletted images, which
// PIL resizes with nearest-neighbour sampling, and for images with alpha,
// which PIL resizes premultiplied.)
//
// Every step works on 8-bit pixels exactly as PIL does, so that the
// tensors equal the reference bit for bit for every format but JPEG; see
// testdata/preprocess.py and TestPreprocessGolden. JPEG files decode to
// within a few levels of libjpeg's pixels (see decodeJPEG).

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
)

// ImageMean and ImageStd are the per-channel (R, G, B) statistics CLIP
// normalises its input with.
var (
	ImageMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	ImageStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// Transform says how Preprocess brings an image to the model's square
// input size.
type Transform int

const (
	// ResizeCrop resizes the shorter side to the input size, keeping the
	// aspect ratio, and crops the centre square: CLIP's own preprocessing
	// (clip.load's preprocess, torchvision Resize(S) + CenterCrop(S)).
	ResizeCrop Transform = iota
	// ResizeSquash resizes both sides to the input size, changing the
	// aspect ratio and cropping nothing: the test transform of the paper's
	// code (torchvision Resize([S, S])).
	ResizeSquash
)

// String returns "crop" or "squash".
func (t Transform) String() string {
	switch t {
	case ResizeCrop:
		return "crop"
	case ResizeSquash:
		return "squash"
	}
	return fmt.Sprintf("Transform(%d)", int(t))
}

// ParseTransform parses the names String returns.
func ParseTransform(s string) (Transform, error) {
	switch s {
	case "crop":
		return ResizeCrop, nil
	case "squash":
		return ResizeSquash, nil
	}
	return 0, fmt.Errorf("vlp: unknown transform %q (want crop or squash)", s)
}

// Preprocess converts, resizes and normalises images into one batch
// (N, 3, size, size) ready for CLIP.EncodeImage, each image as
// PreprocessImage does it. Images are processed in parallel.
func Preprocess(imgs []image.Image, size int, t Transform) *tensor.Tensor {
	if size <= 0 {
		panic(fmt.Sprintf("vlp: Preprocess: size %d", size))
	}
	per := 3 * size * size
	data := make([]float32, len(imgs)*per)
	kernels.ParallelFor(len(imgs), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			PreprocessImage(data[i*per:(i+1)*per], imgs[i], size, t)
		}
	})
	return tensor.New(data, len(imgs), 3, size, size)
}

// PreprocessImage writes img into dst (3·size·size values, CHW) the way
// CLIP's reference pipeline does: RGB conversion, a PIL-exact bicubic
// resize and, for ResizeCrop, a centre crop, then scaling to [0, 1] and
// normalisation with ImageMean and ImageStd.
func PreprocessImage(dst []float32, img image.Image, size int, t Transform) {
	if len(dst) != 3*size*size {
		panic(fmt.Sprintf("vlp: PreprocessImage: dst has %d values, want 3·%d·%d", len(dst), size, size))
	}
	m := RGB(img)
	switch t {
	case ResizeCrop:
		m = CenterCrop(ResizeShorter(m, size), size, size)
	case ResizeSquash:
		m = ResizeBicubic(m, size, size)
	default:
		panic(fmt.Sprintf("vlp: PreprocessImage: unknown transform %d", int(t)))
	}
	NormalizeImage(dst, m)
}

// NormalizeImage writes img into dst (3·H·W values) channel-major (CHW),
// each value v as (v/255 − mean)/std with ImageMean and ImageStd, in
// float32 arithmetic like torchvision's ToTensor and Normalize.
func NormalizeImage(dst []float32, img *image.RGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(dst) != 3*w*h {
		panic(fmt.Sprintf("vlp: NormalizeImage: dst has %d values for a %dx%d image", len(dst), w, h))
	}
	for c := range 3 {
		mean, std := ImageMean[c], ImageStd[c]
		plane := dst[c*w*h : (c+1)*w*h]
		for y := range h {
			row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
			out := plane[y*w : (y+1)*w]
			for x := range out {
				v := float32(row[4*x+c]) / 255
				out[x] = (v - mean) / std
			}
		}
	}
}

// RGB returns img as an opaque *image.RGBA with the colours PIL's
// Image.convert("RGB") gives: grey is copied to the three channels, a
// palette is looked up, and alpha is dropped, not composited onto a
// background (a transparent pixel keeps the colour it stores). 16-bit
// samples keep their high byte, as PIL does for RGB; for 16-bit grey PIL
// clips the value at 255 instead, which RGB does not copy. CMYK uses PIL's
// formula. YCbCr images use image/color's conversion; DecodeImage returns
// JPEG and lossy WebP files already converted the way libjpeg and libwebp
// convert them.
func RGB(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	w := b.Dx()
	set := func(px []uint8, x int, r, g, bl uint8) {
		px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = r, g, bl, 255
	}
	for y := range b.Dy() {
		px := out.Pix[y*out.Stride : y*out.Stride+4*w]
		sy := b.Min.Y + y
		switch m := img.(type) {
		case *image.RGBA:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				if a := row[4*x+3]; a == 255 {
					set(px, x, row[4*x], row[4*x+1], row[4*x+2])
				} else {
					// Premultiplied: recover the stored colour.
					c := color.NRGBAModel.Convert(color.RGBA{row[4*x], row[4*x+1], row[4*x+2], a}).(color.NRGBA)
					set(px, x, c.R, c.G, c.B)
				}
			}
		case *image.NRGBA:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				set(px, x, row[4*x], row[4*x+1], row[4*x+2])
			}
		case *image.NRGBA64:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				set(px, x, row[8*x], row[8*x+2], row[8*x+4])
			}
		case *image.RGBA64:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				if row[8*x+6] == 0xff && row[8*x+7] == 0xff {
					set(px, x, row[8*x], row[8*x+2], row[8*x+4])
				} else {
					c := color.NRGBA64Model.Convert(m.RGBA64At(b.Min.X+x, sy)).(color.NRGBA64)
					set(px, x, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
				}
			}
		case *image.Gray:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				set(px, x, row[x], row[x], row[x])
			}
		case *image.Gray16:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				set(px, x, row[2*x], row[2*x], row[2*x])
			}
		case *image.Paletted:
			pal := paletteRGB(m.Palette)
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				c := [3]uint8{}
				if i := int(row[x]); i < len(pal) {
					c = pal[i]
				}
				set(px, x, c[0], c[1], c[2])
			}
		case *image.YCbCr:
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, sy), m.COffset(b.Min.X+x, sy)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(px, x, r, g, bl)
			}
		case *image.NYCbCrA:
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, sy), m.COffset(b.Min.X+x, sy)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(px, x, r, g, bl)
			}
		case *image.CMYK:
			row := m.Pix[m.PixOffset(b.Min.X, sy):]
			for x := range w {
				nk := 255 - int(row[4*x+3])
				set(px, x, cmykChannel(row[4*x], nk), cmykChannel(row[4*x+1], nk), cmykChannel(row[4*x+2], nk))
			}
		default:
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, sy)).(color.NRGBA)
				set(px, x, c.R, c.G, c.B)
			}
		}
	}
	return out
}

// paletteRGB returns the stored colours of a palette, alpha dropped.
func paletteRGB(p color.Palette) [][3]uint8 {
	out := make([][3]uint8, len(p))
	for i, c := range p {
		if c, ok := c.(color.NRGBA); ok {
			out[i] = [3]uint8{c.R, c.G, c.B}
			continue
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		out[i] = [3]uint8{n.R, n.G, n.B}
	}
	return out
}

// cmykChannel is PIL's CMYK → RGB for one channel: nk − round(v·nk/255),
// where nk = 255 − k.
func cmykChannel(v uint8, nk int) uint8 {
	t := int(v)*nk + 128
	return uint8(nk - ((t>>8)+t)>>8)
}

// ResizeShorter resizes img so that its shorter side is size, keeping the
// aspect ratio, as torchvision's Resize(size) does: the longer side becomes
// ⌊size·long/short⌋. An image whose shorter side already is size is
// returned unchanged.
func ResizeShorter(img *image.RGBA, size int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if size <= 0 || w <= 0 || h <= 0 {
		panic(fmt.Sprintf("vlp: ResizeShorter: %dx%d image to size %d", w, h, size))
	}
	short, long := min(w, h), max(w, h)
	if short == size {
		return img
	}
	newLong := int(float64(size*long) / float64(short))
	if w <= h {
		return ResizeBicubic(img, size, newLong)
	}
	return ResizeBicubic(img, newLong, size)
}

// CenterCrop returns the w×h centre of img, as torchvision's CenterCrop
// does it: the top-left corner is at round((H−h)/2), round((W−w)/2) with
// halves rounded to even, and an image smaller than the crop is first
// padded with black, (w−W)/2 rounded down on the left and top.
func CenterCrop(img *image.RGBA, w, h int) *image.RGBA {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("vlp: CenterCrop: size %dx%d", w, h))
	}
	if iw == w && ih == h {
		return img
	}
	// Offsets of the crop in img; negative where img is padded.
	left := int(math.RoundToEven(float64(iw-w) / 2))
	top := int(math.RoundToEven(float64(ih-h) / 2))
	if w > iw {
		left = -((w - iw) / 2)
	}
	if h > ih {
		top = -((h - ih) / 2)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
	}
	for y := range h {
		sy := top + y
		if sy < 0 || sy >= ih {
			continue
		}
		x0, x1 := max(0, -left), min(w, iw-left)
		if x0 >= x1 {
			continue
		}
		src := img.Pix[img.PixOffset(b.Min.X+left+x0, b.Min.Y+sy):]
		copy(out.Pix[y*out.Stride+4*x0:y*out.Stride+4*x1], src[:4*(x1-x0)])
	}
	return out
}
