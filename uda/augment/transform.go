package augment

import (
	"fmt"
	"image"
	"math/rand/v2"
	"strings"

	"github.com/vlpuda/vlpuda/vlp"
)

// Transform is one step of an augmentation pipeline. Apply returns the
// transformed image and never modifies img; it may return img itself when
// the step changes nothing. A random step draws only from r, so equal
// sources give equal images. String describes the step the way
// torchvision prints it.
type Transform interface {
	Apply(img *image.RGBA, r *rand.Rand) *image.RGBA
	String() string
}

// Compose applies its transforms in order, like torchvision's Compose.
type Compose []Transform

// Apply applies every transform in turn.
func (c Compose) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	for _, t := range c {
		img = t.Apply(img, r)
	}
	return img
}

// String lists the steps.
func (c Compose) String() string {
	parts := make([]string, len(c))
	for i, t := range c {
		parts[i] = t.String()
	}
	return "Compose(" + strings.Join(parts, ", ") + ")"
}

// Apply converts img to RGB the way PIL's convert("RGB") does (vlp.RGB),
// as torchvision's image loader does before any transform, and applies t.
func Apply(t Transform, img image.Image, r *rand.Rand) *image.RGBA {
	return t.Apply(vlp.RGB(img), r)
}

// newImage returns an opaque black w×h image.
func newImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

// filled returns a w×h image of one colour.
func filled(w, h int, c [3]uint8) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c[0], c[1], c[2], 255
	}
	return m
}

// origin returns img with its top-left corner at (0, 0) and rows packed
// (Stride = 4·width), copying it only when it is not so already. Every op
// indexes Pix directly through it.
func origin(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	if b.Min == (image.Point{}) && img.Stride == 4*b.Dx() && len(img.Pix) == 4*b.Dx()*b.Dy() {
		return img
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		off := img.PixOffset(b.Min.X, b.Min.Y+y)
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], img.Pix[off:off+4*b.Dx()])
	}
	return out
}

// size returns the width and height of img.
func size(img *image.RGBA) (w, h int) {
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func checkSize(op string, w, h int) {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("augment: %s: size %dx%d", op, w, h))
	}
}

func checkProb(op string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("augment: %s: probability %v outside [0, 1]", op, p))
	}
}
