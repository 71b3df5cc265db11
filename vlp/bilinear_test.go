package vlp

import (
	"image"
	"slices"
	"testing"
)

func TestResizeBilinear(t *testing.T) {
	row := func(vals ...uint8) *image.RGBA {
		m := image.NewRGBA(image.Rect(0, 0, len(vals), 1))
		for x, v := range vals {
			copy(m.Pix[4*x:], []uint8{v, v, v, 255})
		}
		return m
	}
	reds := func(m *image.RGBA) []uint8 {
		var out []uint8
		for i := 0; i < len(m.Pix); i += 4 {
			out = append(out, m.Pix[i])
		}
		return out
	}
	tests := []struct {
		name string
		in   []uint8
		w    int
		want []uint8
	}{
		// Halving: the triangle stretched to support 2 weighs the three
		// nearest inputs 3/7, 3/7, 1/7 (and 1/7, 3/7, 3/7 for the second).
		{"4 to 2", []uint8{0, 70, 140, 210}, 2, []uint8{50, 160}},
		// Doubling: centres at 0.25 and 0.75 of a pixel, clamped at the edges.
		{"2 to 4", []uint8{0, 100}, 4, []uint8{0, 25, 75, 100}},
		{"same size", []uint8{1, 2, 3}, 3, []uint8{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reds(ResizeBilinear(row(tt.in...), tt.w, 1))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("constant stays constant", func(t *testing.T) {
		m := image.NewRGBA(image.Rect(0, 0, 13, 7))
		for i := range m.Pix {
			m.Pix[i] = []uint8{200, 17, 99, 255}[i%4]
		}
		out := ResizeBilinear(m, 5, 11)
		for i, v := range out.Pix {
			if want := []uint8{200, 17, 99, 255}[i%4]; v != want {
				t.Fatalf("byte %d is %d, want %d", i, v, want)
			}
		}
	})
}
