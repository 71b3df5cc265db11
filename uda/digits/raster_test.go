package digits

import (
	"bytes"
	"image"
	"runtime"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// TestDrawGlyphMatchesDrawer draws every printable ASCII character of
// every Go face with drawGlyph and with font.Drawer through an
// opentype.Face, at several sizes: on amd64, which never fuses a
// multiply-add, the two must be equal pixel for pixel. (On arm64 the
// Drawer's curves differ; TestDomainDigests pins drawGlyph there.)
func TestDrawGlyphMatchesDrawer(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "386" {
		t.Skipf("font.Drawer fuses multiply-adds on %s", runtime.GOARCH)
	}
	for _, f := range GoFaces() {
		for _, size := range []int{GlyphEm, 23, 100} {
			face, err := opentype.NewFace(f.Font, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				t.Fatal(err)
			}
			for r := rune(33); r < 127; r++ {
				idx, err := f.Font.GlyphIndex(nil, r)
				if err != nil || idx == 0 {
					continue
				}
				rect := image.Rect(-size, -2*size, 2*size, size)
				want, got := image.NewAlpha(rect), image.NewAlpha(rect)
				d := font.Drawer{Dst: want, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{}}
				d.DrawString(string(r))
				if err := drawGlyph(got, f.Font, idx, fixed.I(size)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Errorf("%s %q at %d px: drawGlyph differs from font.Drawer", f.Name, r, size)
				}
			}
			face.Close()
		}
	}
}
