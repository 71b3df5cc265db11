package pretrain

import (
	"errors"
	"fmt"
	"image"

	"github.com/vlpuda/vlpuda/uda/digits"
)

// glyph is one character of one face rasterised at digits.GlyphEm, cropped to its
// ink, with its ink thickened by 0, 1, 2 and 3 pixels (weights).
type glyph struct {
	weights [4]*image.Alpha
	cx, cy  float64 // centre of mass of the unthickened ink, in ink coordinates
	side    float64 // the longer side of the unthickened ink box
}

// rasterize draws r from face f (digits.RasterizeGlyph) with room to
// thicken its strokes. It reports false when the face has no glyph for r or
// the glyph has no ink (a space).
func rasterize(f digits.Face, r rune) (glyph, bool, error) {
	const pad = 4 // room for the thickest stroke
	gl, err := digits.RasterizeGlyph(f, r, pad)
	if errors.Is(err, digits.ErrNoGlyph) {
		return glyph{}, false, nil
	}
	if err != nil {
		return glyph{}, false, fmt.Errorf("pretrain: %w", err)
	}
	g := glyph{cx: gl.CX, cy: gl.CY, side: gl.Side}
	g.weights[0] = gl.Ink
	for w := 1; w < len(g.weights); w++ {
		g.weights[w] = dilate(g.weights[w-1])
	}
	return g, true, nil
}

// dilate returns a copy of m with every pixel the maximum of itself and its
// four neighbours: the strokes grow by one pixel on each side.
func dilate(m *image.Alpha) *image.Alpha {
	r := m.Rect
	out := image.NewAlpha(r)
	at := func(x, y int) uint8 {
		if !(image.Point{x, y}.In(r)) {
			return 0
		}
		return m.Pix[m.PixOffset(x, y)]
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Pix[out.PixOffset(x, y)] = max(at(x, y), at(x-1, y), at(x+1, y), at(x, y-1), at(x, y+1))
		}
	}
	return out
}
