package vlp

import (
	"image"
	"io"

	"golang.org/x/image/webp"
)

// decodeWebP decodes a WebP file. Lossless files come back as they are.
// Lossy (VP8) files hold 4:2:0 YCbCr in the limited range of BT.601, which
// image/color's full-range conversion would brighten and wash out; they are
// converted to RGB as libwebp converts them for PIL instead: "fancy"
// upsampling of the chroma and libwebp's 14-bit fixed-point colour
// conversion (src/dsp/upsampling.c, src/dsp/yuv.h, EmitFancyRGB in
// src/dec/io_dec.c). VP8 decoding itself is exact, so the pixels equal
// PIL's.
func decodeWebP(r io.Reader) (image.Image, error) {
	img, err := webp.Decode(r)
	if err != nil {
		return nil, err
	}
	switch m := img.(type) {
	case *image.YCbCr:
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return libwebpRGB(m), nil
		}
	case *image.NYCbCrA:
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return libwebpRGB(&m.YCbCr), nil
		}
	}
	return img, nil
}

// libwebpRGB converts a 4:2:0 image to RGB as libwebp does.
//
// Output row r takes its chroma from two chroma rows, "top" and "cur"
// (equal at the top and, for an even height, at the bottom edge) and
// weights the nearer one 3/4: odd rows lie below top = (r−1)/2 and above
// cur = (r+1)/2, even rows r ≥ 2 below top = r/2−1 and above cur = r/2.
func libwebpRGB(m *image.YCbCr) *image.RGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	ch := (h + 1) / 2
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	u, v := make([]int32, w), make([]int32, w)
	chroma := func(plane []uint8, row int) []uint8 {
		off := m.COffset(b.Min.X, b.Min.Y+2*row)
		return plane[off : off+(w+1)/2]
	}
	for r := range h {
		top, cur, nearTop := 0, 0, true
		switch {
		case r%2 == 1:
			top, cur = (r-1)/2, min((r+1)/2, ch-1)
		case r > 0:
			top, cur, nearTop = r/2-1, r/2, false
		}
		webpChromaRow(u, chroma(m.Cb, top), chroma(m.Cb, cur), nearTop)
		webpChromaRow(v, chroma(m.Cr, top), chroma(m.Cr, cur), nearTop)
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+r):][:w]
		px := out.Pix[r*out.Stride : r*out.Stride+4*w]
		for x, yv := range yrow {
			q := px[4*x : 4*x+4]
			y := webpMultHi(int32(yv), 19077)
			q[0] = webpClip8(y + webpMultHi(v[x], 26149) - 14234)
			q[1] = webpClip8(y - webpMultHi(u[x], 6419) - webpMultHi(v[x], 13320) + 8708)
			q[2] = webpClip8(y + webpMultHi(u[x], 33050) - 17685)
			q[3] = 255
		}
	}
	return out
}

// webpChromaRow writes one output row of libwebp's fancy upsampler into
// dst: between chroma rows t (top) and c (cur), nearer t if nearTop. Each
// pair of outputs between four samples gets about (9·near + 3·side +
// 3·other row + 1·far)/16, with libwebp's rounding.
func webpChromaRow(dst []int32, t, c []uint8, nearTop bool) {
	n := len(dst)
	// edge returns 3/4 of the near row's sample and 1/4 of the far one's.
	edge := func(i int) int32 {
		a, b := int32(t[i]), int32(c[i])
		if !nearTop {
			a, b = b, a
		}
		return (3*a + b + 2) >> 2
	}
	dst[0] = edge(0)
	for x := 1; x <= (n-1)/2; x++ {
		tl, tt, l, uv := int32(t[x-1]), int32(t[x]), int32(c[x-1]), int32(c[x])
		avg := tl + tt + l + uv + 8
		d12 := (avg + 2*(tt+l)) >> 3
		d03 := (avg + 2*(tl+uv)) >> 3
		if nearTop {
			dst[2*x-1], dst[2*x] = (d12+tl)>>1, (d03+tt)>>1
		} else {
			dst[2*x-1], dst[2*x] = (d03+l)>>1, (d12+uv)>>1
		}
	}
	if n%2 == 0 {
		dst[n-1] = edge(n/2 - 1)
	}
}

// webpMultHi is libwebp's MultHi: (v·coeff) >> 8.
func webpMultHi(v, coeff int32) int32 { return (v * coeff) >> 8 }

// webpClip8 is libwebp's VP8Clip8: a 6-bit fixed-point value to a sample.
func webpClip8(v int32) uint8 {
	const mask = 256<<6 - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
