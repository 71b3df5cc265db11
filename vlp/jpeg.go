package vlp

import (
	"image"
	"image/jpeg"
	"io"
)

// decodeJPEG decodes a JPEG file and, for colour images, turns its YCbCr
// planes into RGB the way libjpeg(-turbo) does for PIL: "fancy" (triangle
// filter) upsampling of 2:1 subsampled chroma and libjpeg's fixed-point
// colour conversion. image/color's conversion reads the nearest chroma
// sample and rounds differently, which moves colours near edges by tens of
// levels. What remains is the inverse DCT: image/jpeg's is not libjpeg's
// and differs by ±1 in a few per cent of the samples.
func decodeJPEG(r io.Reader) (image.Image, error) {
	img, err := jpeg.Decode(r)
	if err != nil {
		return nil, err
	}
	if m, ok := img.(*image.YCbCr); ok {
		return libjpegRGB(m), nil
	}
	return img, nil
}

// libjpegRGB converts m to RGB with libjpeg's upsampling and colour
// conversion (jdsample.c, jdcolor.c).
func libjpegRGB(m *image.YCbCr) *image.RGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var hf, vf int // chroma subsampling factors
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hf, vf = 1, 1
	case image.YCbCrSubsampleRatio422:
		hf, vf = 2, 1
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		hf, vf = 1, 2
	case image.YCbCrSubsampleRatio411:
		hf, vf = 4, 1
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	default:
		return RGB(m)
	}
	cb := upsampleChroma(m, m.Cb, hf, vf)
	cr := upsampleChroma(m, m.Cr, hf, vf)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
		px := out.Pix[y*out.Stride:]
		for x := range w {
			r, g, bl := libjpegYCbCrToRGB(yrow[x], cb[y*w+x], cr[y*w+x])
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = r, g, bl, 255
		}
	}
	return out
}

// upsampleChroma returns one chroma plane of m at full resolution (w·h
// samples, row-major). libjpeg interpolates 2:1 subsampling with a
// triangle filter (h2v1, h1v2 and h2v2 "fancy" upsampling) when the
// subsampled plane is more than two samples wide, and replicates samples
// otherwise. At the plane's edges the outermost sample stands in for the
// missing neighbour.
func upsampleChroma(m *image.YCbCr, plane []uint8, hf, vf int) []uint8 {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	// The subsampled plane covering the image: its first sample and size.
	c0 := m.COffset(b.Min.X, b.Min.Y)
	cw := (b.Max.X+hf-1)/hf - b.Min.X/hf
	ch := (b.Max.Y+vf-1)/vf - b.Min.Y/vf
	at := func(cx, cy int) int {
		cx = min(max(cx, 0), cw-1)
		cy = min(max(cy, 0), ch-1)
		return int(plane[c0+cy*m.CStride+cx])
	}
	out := make([]uint8, w*h)
	fancy := cw > 2 && hf <= 2 && vf <= 2 && (hf == 2 || vf == 2)
	// A sub-image may start at an odd offset within a chroma sample.
	ox, oy := b.Min.X%hf, b.Min.Y%vf
	for y := range h {
		sy := y + oy
		cy := sy / vf
		for x := range w {
			sx := x + ox
			cx := sx / hf
			var v int
			switch {
			case !fancy:
				v = at(cx, cy)
			case hf == 2 && vf == 1:
				// 3/4 of the nearer sample and 1/4 of the next one,
				// rounding alternately down and up.
				if sx%2 == 0 {
					v = (3*at(cx, cy) + at(cx-1, cy) + 1) >> 2
				} else {
					v = (3*at(cx, cy) + at(cx+1, cy) + 2) >> 2
				}
			case hf == 1 && vf == 2:
				if sy%2 == 0 {
					v = (3*at(cx, cy) + at(cx, cy-1) + 1) >> 2
				} else {
					v = (3*at(cx, cy) + at(cx, cy+1) + 2) >> 2
				}
			default: // 2×2: vertical 3:1 sums, then horizontal 3:1
				ny := cy + 1
				if sy%2 == 0 {
					ny = cy - 1
				}
				sum := func(cx int) int { return 3*at(cx, cy) + at(cx, ny) }
				if sx%2 == 0 {
					v = (3*sum(cx) + sum(cx-1) + 8) >> 4
				} else {
					v = (3*sum(cx) + sum(cx+1) + 7) >> 4
				}
			}
			out[y*w+x] = uint8(v)
		}
	}
	return out
}

// libjpeg's YCbCr → RGB constants: FIX(x) = round(x·2^16).
const (
	fixCrR = 91881  // 1.40200
	fixCbB = 116130 // 1.77200
	fixCrG = 46802  // 0.71414
	fixCbG = 22554  // 0.34414
	half16 = 1 << 15
)

// libjpegYCbCrToRGB is jdcolor.c's ycc_rgb_convert for one pixel.
func libjpegYCbCrToRGB(y, cb, cr uint8) (r, g, b uint8) {
	yy := int32(y)
	cbv, crv := int32(cb)-128, int32(cr)-128
	return clampU8(yy + (fixCrR*crv+half16)>>16),
		clampU8(yy + (-fixCbG*cbv-fixCrG*crv+half16)>>16),
		clampU8(yy + (fixCbB*cbv+half16)>>16)
}

func clampU8(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}
