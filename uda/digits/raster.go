package digits

import (
	"fmt"
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// drawGlyph draws glyph x of f at ppem pixels per em, unhinted, onto dst
// with the glyph's origin at (0, 0): what font.Drawer.DrawString draws
// through an opentype.Face, pixel for pixel on amd64.
//
// It differs in one respect: it flattens the quadratic and cubic Bézier
// curves itself (quadTo, cubeTo) instead of through
// vector.Rasterizer.QuadTo and CubeTo, whose interpolation px + t·(qx−px)
// the compiler fuses into one multiply-add on arm64 (and ppc64le, s390x,
// riscv64), which moves the flattened points and so the ink. Here every
// product is rounded on its own, as amd64 computes vector's code. The
// straight segments go to vector.Rasterizer.LineTo, whose fixed-point path
// (every glyph under 512 pixels) rounds the same on every GOARCH.
func drawGlyph(dst *image.Alpha, f *sfnt.Font, x sfnt.GlyphIndex, ppem fixed.Int26_6) error {
	var buf sfnt.Buffer
	segs, err := f.LoadGlyph(&buf, x, ppem, nil)
	if err != nil {
		return fmt.Errorf("load glyph %d: %w", x, err)
	}
	b := segs.Bounds()
	dr := image.Rect(b.Min.X.Floor(), b.Min.Y.Floor(), b.Max.X.Ceil(), b.Max.Y.Ceil())
	if dr.Empty() {
		return nil
	}
	biasX, biasY := -fixed.Int26_6(dr.Min.X<<6), -fixed.Int26_6(dr.Min.Y<<6)
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X+biasX) / 64, float32(p.Y+biasY) / 64
	}
	r := vector.NewRasterizer(dr.Dx(), dr.Dy())
	r.DrawOp = draw.Src
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			r.MoveTo(pt(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			r.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			quadTo(r, bx, by, cx, cy)
		case sfnt.SegmentOpCubeTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			dx, dy := pt(s.Args[2])
			cubeTo(r, bx, by, cx, cy, dx, dy)
		}
	}
	mask := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
	r.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})
	draw.DrawMask(dst, dr, image.Opaque, image.Point{}, mask, image.Point{}, draw.Over)
	return nil
}

// quadTo is vector.Rasterizer.QuadTo with every product rounded: a
// quadratic Bézier curve from the pen via (bx, by) to (cx, cy) as n line
// segments, n from the curve's deviation.
func quadTo(r *vector.Rasterizer, bx, by, cx, cy float32) {
	ax, ay := r.Pen()
	if n := segments(devSquared(ax, ay, bx, by, cx, cy)); n > 1 {
		t, nInv := float32(0), 1/float32(n)
		for range n - 1 {
			t += nInv
			abx, aby := lerp(t, ax, ay, bx, by)
			bcx, bcy := lerp(t, bx, by, cx, cy)
			r.LineTo(lerp(t, abx, aby, bcx, bcy))
		}
	}
	r.LineTo(cx, cy)
}

// cubeTo is vector.Rasterizer.CubeTo with every product rounded: a cubic
// Bézier curve from the pen via (bx, by) and (cx, cy) to (dx, dy).
func cubeTo(r *vector.Rasterizer, bx, by, cx, cy, dx, dy float32) {
	ax, ay := r.Pen()
	dev := max(devSquared(ax, ay, bx, by, dx, dy), devSquared(ax, ay, cx, cy, dx, dy))
	if n := segments(dev); n > 1 {
		t, nInv := float32(0), 1/float32(n)
		for range n - 1 {
			t += nInv
			abx, aby := lerp(t, ax, ay, bx, by)
			bcx, bcy := lerp(t, bx, by, cx, cy)
			cdx, cdy := lerp(t, cx, cy, dx, dy)
			abcx, abcy := lerp(t, abx, aby, bcx, bcy)
			bcdx, bcdy := lerp(t, bcx, bcy, cdx, cdy)
			r.LineTo(lerp(t, abcx, abcy, bcdx, bcdy))
		}
	}
	r.LineTo(dx, dy)
}

// segments returns the number of line segments that vector's rasterizer
// approximates a curve of deviation devsq by.
func segments(devsq float32) int {
	if devsq < 0.333 {
		return 1
	}
	const tol = 3
	return 1 + int(math.Sqrt(math.Sqrt(tol*float64(devsq))))
}

// devSquared is vector's measure of how far (bx, by) strays from the line
// from (ax, ay) to (cx, cy).
func devSquared(ax, ay, bx, by, cx, cy float32) float32 {
	devx := ax - float32(2*bx) + cx
	devy := ay - float32(2*by) + cy
	return float32(devx*devx) + float32(devy*devy)
}

// lerp returns the point a fraction t of the way from p to q.
func lerp(t, px, py, qx, qy float32) (x, y float32) {
	return px + float32(t*(qx-px)), py + float32(t*(qy-py))
}
