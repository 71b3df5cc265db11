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
// conversion (jdsample.c, jdcolor.c), one row at a time.
func libjpegRGB(m *image.YCbCr) *image.RGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var up chromaUpsampler
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		up.hf, up.vf = 1, 1
	case image.YCbCrSubsampleRatio422:
		up.hf, up.vf = 2, 1
	case image.YCbCrSubsampleRatio420:
		up.hf, up.vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		up.hf, up.vf = 1, 2
	case image.YCbCrSubsampleRatio411:
		up.hf, up.vf = 4, 1
	case image.YCbCrSubsampleRatio410:
		up.hf, up.vf = 4, 2
	default:
		return RGB(m)
	}
	up.init(m)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	cb, cr := make([]uint8, w), make([]uint8, w)
	sum := make([]int32, up.cw)
	for y := range h {
		up.row(cb, m.Cb, y, sum)
		up.row(cr, m.Cr, y, sum)
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w]
		px := out.Pix[y*out.Stride:][:4*w]
		for x, yv := range yrow {
			r, g, bl := libjpegYCbCrToRGB(yv, cb[x], cr[x])
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = r, g, bl, 255
		}
	}
	return out
}

// chromaUpsampler brings one row of a subsampled chroma plane to full
// resolution. libjpeg interpolates 2:1 subsampling with a triangle filter
// (h2v1, h1v2 and h2v2 "fancy" upsampling) and replicates samples for 4:1
// subsampling and for planes too narrow for the filter. At the plane's edges the outermost sample stands in
// for the missing neighbour.
type chromaUpsampler struct {
	hf, vf int  // subsampling factors
	fancy  bool // triangle filter rather than replication
	w      int  // image width
	c0     int  // offset of the plane's first sample covering the image
	cw, ch int  // size of the plane covering the image
	stride int
	ox, oy int // offset of the image within its first chroma sample
}

func (u *chromaUpsampler) init(m *image.YCbCr) {
	b := m.Bounds()
	u.w = b.Dx()
	u.c0 = m.COffset(b.Min.X, b.Min.Y)
	u.cw = (b.Max.X+u.hf-1)/u.hf - b.Min.X/u.hf
	u.ch = (b.Max.Y+u.vf-1)/u.vf - b.Min.Y/u.vf
	u.stride = m.CStride
	u.ox, u.oy = b.Min.X%u.hf, b.Min.Y%u.vf
	// libjpeg's h1v2 filter runs at any width; h2v1 and h2v2 need more
	// than two samples.
	u.fancy = (u.hf == 2 && u.vf <= 2 && u.cw > 2) || (u.hf == 1 && u.vf == 2)
}

// row writes image row y of plane into dst (width w); sum is scratch of
// the plane's width.
func (u *chromaUpsampler) row(dst, plane []uint8, y int, sum []int32) {
	sy := y + u.oy
	cy := sy / u.vf
	cur := plane[u.c0+cy*u.stride:][:u.cw]
	if !u.fancy {
		for x := range dst {
			dst[x] = cur[(x+u.ox)/u.hf]
		}
		return
	}
	// Vertical step: for 2:1 rows, 3/4 of this row and 1/4 of the nearer
	// neighbour (the row above for an even image row).
	if u.vf == 2 {
		ny := cy + 1
		if sy%2 == 0 {
			ny = cy - 1
		}
		ny = min(max(ny, 0), u.ch-1)
		next := plane[u.c0+ny*u.stride:][:u.cw]
		for i := range sum {
			sum[i] = 3*int32(cur[i]) + int32(next[i])
		}
	} else {
		for i := range sum {
			sum[i] = int32(cur[i])
		}
	}
	last := u.cw - 1
	for x := range dst {
		sx := x + u.ox
		cx := sx / u.hf
		var v int32
		switch {
		case u.hf == 1: // h1v2: rounding 1 on even rows, 2 on odd ones
			v = (sum[cx] + 1 + int32(sy%2)) >> 2
		case u.vf == 1 && sx%2 == 0: // h2v1
			v = (3*sum[cx] + sum[max(cx-1, 0)] + 1) >> 2
		case u.vf == 1:
			v = (3*sum[cx] + sum[min(cx+1, last)] + 2) >> 2
		case sx%2 == 0: // h2v2
			v = (3*sum[cx] + sum[max(cx-1, 0)] + 8) >> 4
		default:
			v = (3*sum[cx] + sum[min(cx+1, last)] + 7) >> 4
		}
		dst[x] = uint8(v)
	}
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
