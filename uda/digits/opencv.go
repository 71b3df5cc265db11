package digits

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
)

// The layout of OpenCV's digits.png: 50 rows of 100 cells of 20x20 pixels;
// rows 5k to 5k+4 hold the digit k.
const (
	openCVCell      = 20
	openCVCols      = 100
	openCVRows      = 50
	openCVPerRow    = 5 // rows per class
	openCVTrainCols = 50
)

// ParseOpenCV decodes OpenCV's digits.png from r into 5,000 grey 20x20
// images, ordered row by row, cell by cell. The Train split takes the left
// 50 cells of every row and Test the right 50, as OpenCV's own kNN digits
// tutorial divides them; All takes every cell.
func ParseOpenCV(r io.Reader, split Split) (*Dataset, error) {
	m, err := png.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("digits: opencv digits.png: %w", err)
	}
	want := image.Rect(0, 0, openCVCols*openCVCell, openCVRows*openCVCell)
	if b := m.Bounds(); b.Size() != want.Size() {
		return nil, fmt.Errorf("digits: opencv digits.png is %dx%d, want %dx%d: %w",
			b.Dx(), b.Dy(), want.Dx(), want.Dy(), ErrCorrupt)
	}
	lo, hi := 0, openCVCols
	switch split {
	case Train:
		hi = openCVTrainCols
	case Test:
		lo = openCVTrainCols
	case All:
	default:
		return nil, fmt.Errorf("digits: opencv has no split %q", split)
	}
	n := openCVRows * (hi - lo)
	d := &Dataset{
		Name: OpenCV, Split: split,
		Width: openCVCell, Height: openCVCell, Channels: 1,
		Pixels: make([]uint8, 0, n*openCVCell*openCVCell),
		Labels: make([]int, 0, n), Classes: Classes,
	}
	origin := m.Bounds().Min
	for row := range openCVRows {
		for col := lo; col < hi; col++ {
			for y := range openCVCell {
				for x := range openCVCell {
					p := origin.Add(image.Pt(col*openCVCell+x, row*openCVCell+y))
					d.Pixels = append(d.Pixels, color.GrayModel.Convert(m.At(p.X, p.Y)).(color.Gray).Y)
				}
			}
			d.Labels = append(d.Labels, row/openCVPerRow)
		}
	}
	return d, nil
}

// LoadOpenCV reads OpenCV's digits.png (Debian opencv-doc) from the cache
// under cacheDir (empty: DefaultCacheDir), or from the installed package.
func LoadOpenCV(cacheDir string, split Split) (*Dataset, error) {
	cacheDir, err := resolveCacheDir(cacheDir)
	if err != nil {
		return nil, err
	}
	f := fileOf(kindOpenCV)
	b, err := readDebFile(cacheDir, f)
	if err != nil {
		return nil, err
	}
	d, err := ParseOpenCV(bytes.NewReader(b), split)
	if err != nil {
		return nil, err
	}
	d.Sources = []string{"Debian " + f.pkg + ": " + f.member}
	return d, nil
}
