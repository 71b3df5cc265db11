package digits

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Contact sheet layout, in pixels.
const (
	sheetGap    = 2  // between cells
	sheetMargin = 12 // left column for the class names, and between blocks
	sheetTitle  = 16 // title line above each block
)

// ContactSheet draws perClass images of every class of each dataset: one
// block per dataset, side by side, with a class per row and the dataset's
// name, split and image shape above it. Each block shows the first
// perClass images of each class. Cells are as large as the largest image
// of all datasets; smaller images are enlarged by pixel replication
// (x/image/draw.NearestNeighbor), so every cell shows the real pixels.
func ContactSheet(sets []*Dataset, perClass int) *image.RGBA {
	if perClass <= 0 {
		panic(fmt.Sprintf("digits: ContactSheet: perClass %d", perClass))
	}
	cell, classes := 0, 0
	for _, d := range sets {
		cell = max(cell, d.Width, d.Height)
		classes = max(classes, len(d.Classes))
	}
	blockW := perClass*(cell+sheetGap) - sheetGap
	w := sheetMargin + len(sets)*(blockW+sheetMargin)
	h := sheetTitle + classes*(cell+sheetGap)
	sheet := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(sheet, sheet.Rect, image.NewUniform(color.RGBA{40, 40, 48, 255}), image.Point{}, draw.Src)

	text := func(x, y int, s string, maxW int) {
		if n := maxW / 7; len(s) > n { // basicfont.Face7x13 is 7 pixels wide
			s = s[:max(n, 0)]
		}
		dr := font.Drawer{Dst: sheet, Src: image.White, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		dr.DrawString(s)
	}
	for c := range classes {
		text(2, sheetTitle+c*(cell+sheetGap)+cell/2+5, fmt.Sprint(c), sheetMargin)
	}
	for b, d := range sets {
		x0 := sheetMargin + b*(blockW+sheetMargin)
		text(x0, sheetTitle-4, fmt.Sprintf("%s %s %dx%dx%d", d.Name, d.Split, d.Width, d.Height, d.Channels), blockW+sheetMargin)
		shown := make([]int, len(d.Classes))
		for i, l := range d.Labels {
			if shown[l] == perClass {
				continue
			}
			x := x0 + shown[l]*(cell+sheetGap)
			y := sheetTitle + l*(cell+sheetGap)
			draw.NearestNeighbor.Scale(sheet, image.Rect(x, y, x+cell, y+cell), d.ImageAt(i), image.Rect(0, 0, d.Width, d.Height), draw.Src, nil)
			shown[l]++
		}
	}
	return sheet
}

// SavePNG writes m as a PNG file at path, through a temporary file renamed
// into place.
func SavePNG(path string, m image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		return fmt.Errorf("digits: encoding %s: %w", path, err)
	}
	return writeAtomic(path, &buf, "")
}
