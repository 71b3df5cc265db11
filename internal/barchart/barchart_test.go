package barchart

import (
	"image/color"
	"testing"
)

func TestDraw(t *testing.T) {
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	values := [][]Bar{
		{{Mean: 0.4, OK: true}, {Mean: 0.8, Std: 0.1, OK: true}},
		{{Mean: 0.6, OK: true}, {}}, // a missing cell
	}
	c := Chart{Title: "t", Groups: []string{"a", "b"}, Series: []string{"x", "y"},
		Colours: []color.RGBA{red, blue}, LegendWidth: 100,
		Value: func(g, s int) Bar { return values[g][s] }}
	img := c.Draw()
	if b := img.Bounds(); b.Dx() != left+2*(2*bar+gap)+100 || b.Dy() != height {
		t.Fatalf("chart is %v", b)
	}
	plotH := height - top - bottom
	at := func(g, s int, acc float64) color.RGBA {
		x := left + g*(2*bar+gap) + gap/2 + s*bar + bar/4
		return img.RGBAAt(x, top+plotH-int(acc*float64(plotH)))
	}
	white := color.RGBA{255, 255, 255, 255}
	tests := []struct {
		name string
		g, s int
		acc  float64
		want color.RGBA
	}{
		{"inside the 40 % bar", 0, 0, 0.2, red},
		{"above the 40 % bar", 0, 0, 0.5, white},
		{"inside the 80 % bar", 0, 1, 0.7, blue},
		{"inside the 60 % bar of group b", 1, 0, 0.5, red},
		{"the missing bar", 1, 1, 0.1, white},
	}
	for _, tt := range tests {
		if got := at(tt.g, tt.s, tt.acc); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// The whisker of the 80 % bar reaches 90 %.
	mid := left + gap/2 + bar + bar/2
	if got := img.RGBAAt(mid, top+plotH-int(0.88*float64(plotH))); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("whisker at 88 %%: %v, want black", got)
	}
}
