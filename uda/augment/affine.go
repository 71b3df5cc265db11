package augment

// Affine warps as PIL's Image.transform(size, AFFINE, m, resample,
// fillcolor) computes them (libImaging/Geometry.c), so that rotations,
// shears and translations equal PIL's pixel for pixel.
//
// Output pixel (x, y) samples the input at
//
//	(m0·(x+½) + m1·(y+½) + m2,  m3·(x+½) + m4·(y+½) + m5)
//
// in pixel-edge coordinates. Bilinear and bicubic sampling evaluate this
// in float64 (ImagingGenericTransform); a point outside [0, W)×[0, H)
// gets the fill colour, neighbours beyond the border are clamped to it,
// and the result is truncated to 8 bits (bicubic clipped first). Nearest
// sampling takes PIL's fixed-point path (16.16, affine_fixed), or its
// scaling path when m1 = m3 = 0.

import (
	"fmt"
	"image"
	"math"
	"strconv"

	"github.com/vlpuda/vlpuda/internal/detmath"
)

// Interpolation selects how Affine and Rotate sample the input.
type Interpolation int

const (
	Nearest  Interpolation = iota // PIL NEAREST
	Bilinear                      // PIL BILINEAR
	Bicubic                       // PIL BICUBIC
)

// String returns "nearest", "bilinear" or "bicubic".
func (i Interpolation) String() string {
	switch i {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("Interpolation(%d)", int(i))
}

// Affine returns img warped by the inverse map m (output → input, see the
// comment at the top of this file), the same size as img, with fill
// outside the input.
func Affine(img *image.RGBA, m [6]float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	img = origin(img)
	w, h := size(img)
	out := filled(w, h, fill)
	switch interp {
	case Bilinear, Bicubic:
		affineFiltered(out, img, m, interp)
	case Nearest:
		affineNearest(out, img, m)
	default:
		panic(fmt.Sprintf("augment: Affine: unknown interpolation %d", int(interp)))
	}
	return out
}

// affineFiltered is ImagingGenericTransform with affine_transform and the
// bilinear or bicubic filter of a 3-band 8-bit image.
func affineFiltered(out, img *image.RGBA, m [6]float64, interp Interpolation) {
	w, h := size(img)
	for y := range h {
		yin := float64(y) + 0.5
		for x := range w {
			xin := float64(x) + 0.5
			// float64 conversions keep the compiler from fusing a multiply
			// and an add, which would round differently from PIL.
			xx := float64(float64(m[0]*xin)+float64(m[1]*yin)) + m[2]
			yy := float64(float64(m[3]*xin)+float64(m[4]*yin)) + m[5]
			if xx < 0 || xx >= float64(w) || yy < 0 || yy >= float64(h) {
				continue // keeps the fill
			}
			px := out.Pix[4*(y*w+x):]
			if interp == Bilinear {
				bilinearAt(px, img, xx, yy)
			} else {
				bicubicAt(px, img, xx, yy)
			}
		}
	}
}

// floorInt is PIL's FLOOR: (int)floor(v) for negative v, a truncation
// otherwise.
func floorInt(v float64) int {
	if v < 0 {
		return int(math.Floor(v))
	}
	return int(v)
}

func clampInt(v, n int) int { return max(0, min(v, n-1)) }

// bilinearAt writes to px[0:3] the bilinear sample of img at (xx, yy),
// as bilinear_filter32RGB does.
func bilinearAt(px []uint8, img *image.RGBA, xx, yy float64) {
	w, h := size(img)
	xx -= 0.5
	yy -= 0.5
	x, y := floorInt(xx), floorInt(yy)
	dx, dy := xx-float64(x), yy-float64(y)
	x0, x1 := clampInt(x, w), clampInt(x+1, w)
	row0 := img.Pix[4*w*clampInt(y, h):]
	var row1 []uint8
	if y+1 >= 0 && y+1 < h {
		row1 = img.Pix[4*w*(y+1):]
	}
	lerp := func(a, b, d float64) float64 { return a + float64((b-a)*d) }
	for c := range 3 {
		v1 := lerp(float64(row0[4*x0+c]), float64(row0[4*x1+c]), dx)
		v2 := v1
		if row1 != nil {
			v2 = lerp(float64(row1[4*x0+c]), float64(row1[4*x1+c]), dx)
		}
		px[c] = uint8(lerp(v1, v2, dy))
	}
}

// cubic is PIL's BICUBIC macro: the cubic through v1..v4 at d ∈ [0, 1)
// past v2, evaluated in PIL's order.
func cubic(v1, v2, v3, v4, d float64) float64 {
	p1 := v2
	p2 := -v1 + v3
	p3 := float64(float64(2*(v1-v2))+v3) - v4
	p4 := float64(float64(-v1+v2)-v3) + v4
	return p1 + float64(d*float64(p2+float64(d*float64(p3+float64(d*p4)))))
}

// bicubicAt writes to px[0:3] the bicubic sample of img at (xx, yy), as
// bicubic_filter32RGB does.
func bicubicAt(px []uint8, img *image.RGBA, xx, yy float64) {
	w, h := size(img)
	xx -= 0.5
	yy -= 0.5
	x, y := floorInt(xx), floorInt(yy)
	dx, dy := xx-float64(x), yy-float64(y)
	x--
	y--
	var xs [4]int
	for i := range xs {
		xs[i] = 4 * clampInt(x+i, w)
	}
	// Row y is clamped into the image; rows y+1..y+3 outside it repeat the
	// previous row's value.
	var rows [4][]uint8
	rows[0] = img.Pix[4*w*clampInt(y, h):]
	for i := 1; i < 4; i++ {
		if y+i >= 0 && y+i < h {
			rows[i] = img.Pix[4*w*(y+i):]
		}
	}
	for c := range 3 {
		var v [4]float64
		for i, row := range rows {
			if row == nil {
				v[i] = v[i-1]
				continue
			}
			v[i] = cubic(float64(row[xs[0]+c]), float64(row[xs[1]+c]), float64(row[xs[2]+c]), float64(row[xs[3]+c]), dx)
		}
		s := cubic(v[0], v[1], v[2], v[3], dy)
		switch {
		case s <= 0:
			px[c] = 0
		case s >= 255:
			px[c] = 255
		default:
			px[c] = uint8(s)
		}
	}
}

// affineNearest is ImagingTransformAffine with nearest sampling.
func affineNearest(out, img *image.RGBA, m [6]float64) {
	w, h := size(img)
	coord := func(v float64) int { // PIL's COORD
		if v < 0 {
			return -1
		}
		return int(v)
	}
	put := func(x, y, sx, sy int) {
		copy(out.Pix[4*(y*w+x):4*(y*w+x)+3], img.Pix[4*(sy*w+sx):])
	}
	if m[1] == 0 && m[3] == 0 {
		// ImagingScaleAffine: positions accumulate by addition.
		xo := m[2] + float64(m[0]*0.5)
		yo := m[5] + float64(m[4]*0.5)
		xin := make([]int, w)
		for x := range w {
			xin[x] = coord(xo)
			xo += m[0]
		}
		for y := range h {
			if yi := coord(yo); yi >= 0 && yi < h {
				for x, xi := range xin {
					if xi >= 0 && xi < w {
						put(x, y, xi, yi)
					}
				}
			}
			yo += m[4]
		}
		return
	}
	fits := func(x, y float64) bool {
		return math.Abs(float64(float64(x*m[0])+float64(y*m[1]))+m[2]) < 32768 &&
			math.Abs(float64(float64(x*m[3])+float64(y*m[4]))+m[5]) < 32768
	}
	W, H := float64(w), float64(h)
	if fits(0, 0) && fits(W, H) && fits(0, H) && fits(W, 0) {
		// affine_fixed: 16.16 fixed point, arithmetic shifts.
		fix := func(v float64) int32 { return int32(floorInt(float64(v*65536) + 0.5)) }
		a0, a1, a3, a4 := fix(m[0]), fix(m[1]), fix(m[3]), fix(m[4])
		a2 := fix(float64(m[2]+float64(m[0]*0.5)) + float64(m[1]*0.5))
		a5 := fix(float64(m[5]+float64(m[3]*0.5)) + float64(m[4]*0.5))
		for y := range h {
			xx, yy := a2, a5
			for x := range w {
				if xi := int(xx >> 16); xi >= 0 && xi < w {
					if yi := int(yy >> 16); yi >= 0 && yi < h {
						put(x, y, xi, yi)
					}
				}
				xx += a0
				yy += a3
			}
			a2 += a1
			a5 += a4
		}
		return
	}
	// PIL's floating-point fallback for coordinates beyond 16.16.
	xo := float64(m[2]+float64(m[1]*0.5)) + float64(m[0]*0.5)
	yo := float64(m[5]+float64(m[4]*0.5)) + float64(m[3]*0.5)
	for y := range h {
		xx, yy := xo, yo
		for x := range w {
			if xi := coord(xx); xi >= 0 && xi < w {
				if yi := coord(yy); yi >= 0 && yi < h {
					put(x, y, xi, yi)
				}
			}
			xx += m[0]
			yy += m[3]
		}
		xo += m[1]
		yo += m[4]
	}
}

// Rotate returns img rotated counter-clockwise by degrees about its
// centre, the same size, with fill where no input falls, as PIL's
// Image.rotate(degrees, resample, fillcolor=fill) does: the angle is
// taken modulo 360; 0 returns a copy, 180 (and 90 or 270 for a square
// image) are exact transpositions; any other angle is an Affine warp
// whose matrix entries are rounded to 15 decimals as PIL rounds them.
func Rotate(img *image.RGBA, degrees float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	img = origin(img)
	w, h := size(img)
	angle := math.Mod(degrees, 360) // Python's %: the sign of the divisor
	if angle < 0 {
		angle += 360
	}
	switch {
	case angle == 0:
		return Crop(img, 0, 0, w, h)
	case angle == 180:
		return FlipHorizontal(flipVertical(img))
	case (angle == 90 || angle == 270) && w == h:
		return rotate90(img, angle == 90)
	}
	rad := -(angle * degToRad)
	cos, sin := round15(detmath.Cos(rad)), round15(detmath.Sin(rad))
	m := [6]float64{cos, sin, 0, round15(-detmath.Sin(rad)), cos, 0}
	cx, cy := float64(w)/2, float64(h)/2
	m[2] = float64(float64(m[0]*-cx)+float64(m[1]*-cy)) + m[2] + cx
	m[5] = float64(float64(m[3]*-cx)+float64(m[4]*-cy)) + m[5] + cy
	return Affine(img, m, interp, fill)
}

// degToRad is CPython's math.radians factor: π rounded to a double, then
// divided by 180 in double precision.
var degToRad = func() float64 { pi := math.Pi; return pi / 180 }()

// round15 is Python's round(v, 15): the nearest double to v rounded to 15
// decimals, halves to even on the exact decimal value.
func round15(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 15, 64), 64)
	return r
}

// flipVertical returns img mirrored top to bottom.
func flipVertical(img *image.RGBA) *image.RGBA {
	w, h := size(img)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		copy(out.Pix[(h-1-y)*out.Stride:(h-y)*out.Stride], img.Pix[y*img.Stride:])
	}
	return out
}

// rotate90 returns the square img turned a quarter counter-clockwise (ccw)
// or clockwise.
func rotate90(img *image.RGBA, ccw bool) *image.RGBA {
	n, _ := size(img)
	out := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			sx, sy := y, n-1-x // clockwise (PIL's ROTATE_270)
			if ccw {
				sx, sy = n-1-y, x // PIL's ROTATE_90
			}
			copy(out.Pix[4*(y*n+x):4*(y*n+x)+4], img.Pix[4*(sy*n+sx):])
		}
	}
	return out
}
