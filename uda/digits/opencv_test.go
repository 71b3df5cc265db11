package digits

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// fakeOpenCV encodes a digits.png-shaped image whose cell (row, col) has
// its top-left pixel at row, the next at col, and the rest at 255.
func fakeOpenCV(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = 255
	}
	for row := 0; row*openCVCell < h; row++ {
		for col := 0; col*openCVCell < w; col++ {
			m.SetGray(col*openCVCell, row*openCVCell, color.Gray{uint8(row)})
			m.SetGray(col*openCVCell+1, row*openCVCell, color.Gray{uint8(col)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseOpenCV(t *testing.T) {
	png := fakeOpenCV(t, 2000, 1000)
	for _, tc := range []struct {
		split  Split
		n      int
		col0   int // column of the first image
		perRow int
	}{
		{All, 5000, 0, 100},
		{Train, 2500, 0, 50},
		{Test, 2500, 50, 50},
	} {
		t.Run(string(tc.split), func(t *testing.T) {
			d, err := ParseOpenCV(bytes.NewReader(png), tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tc.n || d.Width != 20 || d.Height != 20 || d.Channels != 1 {
				t.Fatalf("got %d images of %dx%dx%d, want %d of 20x20x1", d.Len(), d.Width, d.Height, d.Channels, tc.n)
			}
			for c, n := range d.ClassCounts() {
				if n != tc.n/10 {
					t.Errorf("class %d: got %d images, want %d", c, n, tc.n/10)
				}
			}
			for _, i := range []int{0, 1, tc.perRow - 1, tc.perRow, tc.n - 1} {
				row, col := i/tc.perRow, tc.col0+i%tc.perRow
				px := d.Image(i)
				if int(px[0]) != row || int(px[1]) != col || px[2] != 255 || px[399] != 255 {
					t.Errorf("image %d: got pixels %v..., want row %d col %d", i, px[:3], row, col)
				}
				if d.Labels[i] != row/5 {
					t.Errorf("image %d: got label %d, want %d", i, d.Labels[i], row/5)
				}
			}
		})
	}
}

func TestParseOpenCVBad(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"wrong size", fakeOpenCV(t, 2000, 980), ErrCorrupt},
		{"not png", []byte("GIF89a"), nil},
		{"truncated", fakeOpenCV(t, 2000, 1000)[:5000], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOpenCV(bytes.NewReader(tc.in), All)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("got %v, want an error (%v)", err, tc.want)
			}
		})
	}
	if _, err := ParseOpenCV(bytes.NewReader(fakeOpenCV(t, 2000, 1000)), "val"); err == nil {
		t.Errorf("split val: got no error")
	}
}
