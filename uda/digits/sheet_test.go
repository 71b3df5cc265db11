package digits

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestContactSheet(t *testing.T) {
	grey := ramp(30, 4, 4)
	rgb := &Dataset{Name: "rgb", Width: 2, Height: 2, Channels: 3, Pixels: make([]uint8, 10*12), Labels: make([]int, 10), Classes: Classes}
	for i := range rgb.Labels {
		rgb.Labels[i] = 9 - i
		px := rgb.Image(i)
		for j := 0; j < len(px); j += 3 {
			px[j], px[j+1], px[j+2] = uint8(i), 100, 200
		}
	}
	m := ContactSheet([]*Dataset{grey, rgb}, 2)
	cell := 4
	wantW := sheetMargin + 2*(2*(cell+sheetGap)-sheetGap+sheetMargin)
	wantH := sheetTitle + 10*(cell+sheetGap)
	if b := m.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("got %v, want %dx%d", b, wantW, wantH)
	}
	// The grey block: row 3, column 1 shows the second image of class 3 (image 13).
	x, y := sheetMargin+1*(cell+sheetGap), sheetTitle+3*(cell+sheetGap)
	if got, want := m.RGBAAt(x+1, y+1), (color.RGBA{133, 133, 133, 255}); got != want {
		t.Errorf("grey block: got %v, want %v", got, want)
	}
	// The rgb block: 2x2 images fill the 4x4 cell; class 9 is image 0.
	x = sheetMargin + (2*(cell+sheetGap) - sheetGap + sheetMargin)
	y = sheetTitle + 9*(cell+sheetGap)
	if got, want := m.RGBAAt(x+3, y+3), (color.RGBA{0, 100, 200, 255}); got != want {
		t.Errorf("rgb block: got %v, want %v", got, want)
	}

	p := filepath.Join(t.TempDir(), "sheet.png")
	if err := SavePNG(p, m); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != m.Bounds() {
		t.Errorf("saved %v, read back %v", m.Bounds(), back.Bounds())
	}
}
