package pretrain

import (
	"fmt"
	"image"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/vlpuda/vlpuda/uda/digits"
)

// glyphEm is the size in pixels at which glyphs are rasterised; the corpus
// scales them down to the image size, which antialiases them.
const glyphEm = 64

// glyph is one character of one face rasterised at glyphEm, cropped to its
// ink, with its ink thickened by 0, 1, 2 and 3 pixels (weights).
type glyph struct {
	weights [4]*image.Alpha
	cx, cy  float64 // centre of mass of the unthickened ink, in ink coordinates
	side    float64 // the longer side of the unthickened ink box
}

// rasterize draws r from face f at glyphEm pixels. It reports false when
// the face has no glyph for r or the glyph has no ink (a space).
func rasterize(f digits.Face, r rune) (glyph, bool, error) {
	var buf sfnt.Buffer
	if idx, err := f.Font.GlyphIndex(&buf, r); err != nil || idx == 0 {
		return glyph{}, false, nil
	}
	face, err := opentype.NewFace(f.Font, &opentype.FaceOptions{Size: glyphEm, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return glyph{}, false, fmt.Errorf("pretrain: font %s: %w", f.Name, err)
	}
	defer face.Close()
	b, _ := font.BoundString(face, string(r))
	const pad = 4 // room for the thickest stroke
	rect := image.Rect(b.Min.X.Floor()-pad, b.Min.Y.Floor()-pad, b.Max.X.Ceil()+pad, b.Max.Y.Ceil()+pad)
	canvas := image.NewAlpha(rect)
	d := font.Drawer{Dst: canvas, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{}}
	d.DrawString(string(r))

	ink := image.Rectangle{}
	var sum, sx, sy float64
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			v := float64(canvas.AlphaAt(x, y).A)
			if v == 0 {
				continue
			}
			ink = ink.Union(image.Rect(x, y, x+1, y+1))
			sum += v
			sx += v * (float64(x) + 0.5)
			sy += v * (float64(y) + 0.5)
		}
	}
	if sum == 0 {
		return glyph{}, false, nil
	}
	g := glyph{cx: sx / sum, cy: sy / sum, side: float64(max(ink.Dx(), ink.Dy()))}
	box := ink.Inset(-pad).Intersect(rect)
	g.weights[0] = canvas.SubImage(box).(*image.Alpha)
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
