package digits

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"slices"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// ramp returns a grey Dataset of n w x h images; image i has pixel value
// i*10 + label everywhere except a 255 top-left corner.
func ramp(n, w, h int) *Dataset {
	d := &Dataset{Name: "ramp", Split: Train, Width: w, Height: h, Channels: 1,
		Pixels: make([]uint8, n*w*h), Labels: make([]int, n), Classes: Classes}
	for i := range n {
		d.Labels[i] = i % 10
		px := d.Image(i)
		for j := range px {
			px[j] = uint8(i*10 + i%10)
		}
		px[0] = 255
	}
	return d
}

func TestSubset(t *testing.T) {
	d := ramp(5, 3, 2)
	s := d.Subset([]int{4, 0, 4})
	if !slices.Equal(s.Labels, []int{4, 0, 4}) {
		t.Errorf("got labels %v, want [4 0 4]", s.Labels)
	}
	for j, i := range []int{4, 0, 4} {
		if !bytes.Equal(s.Image(j), d.Image(i)) {
			t.Errorf("image %d: got %v, want image %d %v", j, s.Image(j), i, d.Image(i))
		}
	}
	s.Image(1)[0] = 7
	if d.Image(0)[0] != 255 {
		t.Errorf("Subset shares pixels with its source")
	}
}

func TestResize(t *testing.T) {
	d := ramp(7, 28, 28)
	for _, tc := range []struct {
		name       string
		w, h, c    int
		checkPixel func(t *testing.T, out *Dataset, i int)
	}{
		{"grey to rgb, same size", 28, 28, 3, func(t *testing.T, out *Dataset, i int) {
			for j, v := range out.Image(i) {
				if want := d.Image(i)[j/3]; v != want {
					t.Fatalf("image %d byte %d: got %d, want %d", i, j, v, want)
				}
			}
		}},
		{"grey to 32x32 grey", 32, 32, 1, func(t *testing.T, out *Dataset, i int) {
			// Away from the bright corner the image is uniform, and stays so.
			if got, want := out.Image(i)[31*32+31], d.Image(i)[27*28+27]; got != want {
				t.Fatalf("image %d: got bottom-right %d, want %d", i, got, want)
			}
		}},
		{"grey to 14x14 rgb", 14, 14, 3, func(t *testing.T, out *Dataset, i int) {
			px := out.Image(i)
			want := d.Image(i)[27*28+27]
			if px[len(px)-1] != want || px[len(px)-3] != want {
				t.Fatalf("image %d: got bottom-right %v, want %d", i, px[len(px)-3:], want)
			}
			// Shrinking by 2 averages the 255 corner with three darker pixels.
			if px[0] == 255 || px[0] <= want {
				t.Fatalf("image %d: got top-left %d, want between %d and 255", i, px[0], want)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := d.Resize(tc.w, tc.h, tc.c)
			if out.Width != tc.w || out.Height != tc.h || out.Channels != tc.c || out.Len() != d.Len() || len(out.Pixels) != d.Len()*tc.w*tc.h*tc.c {
				t.Fatalf("got %d images of %dx%dx%d", out.Len(), out.Width, out.Height, out.Channels)
			}
			if !slices.Equal(out.Labels, d.Labels) {
				t.Errorf("got labels %v, want %v", out.Labels, d.Labels)
			}
			for i := range d.Len() {
				tc.checkPixel(t, out, i)
			}
		})
	}
}

func TestResizeRGBToGrey(t *testing.T) {
	d := &Dataset{Width: 2, Height: 1, Channels: 3, Pixels: []uint8{255, 0, 0, 10, 200, 30}, Labels: []int{1}, Classes: Classes}
	out := d.Resize(2, 1, 1)
	for x, c := range []color.RGBA{{255, 0, 0, 255}, {10, 200, 30, 255}} {
		want := color.GrayModel.Convert(c).(color.Gray).Y
		if got := out.Pixels[x]; got != want {
			t.Errorf("pixel %d: got %d, want luma %d", x, got, want)
		}
	}
}

func TestImageAt(t *testing.T) {
	d := &Dataset{Width: 2, Height: 1, Channels: 3, Pixels: []uint8{1, 2, 3, 4, 5, 6}, Labels: []int{0}, Classes: Classes}
	m := d.ImageAt(0).(*image.RGBA)
	if got, want := m.RGBAAt(1, 0), (color.RGBA{4, 5, 6, 255}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	g := ramp(2, 3, 3).ImageAt(1).(*image.Gray)
	if got := g.GrayAt(2, 2).Y; got != 11 {
		t.Errorf("got %d, want 11", got)
	}
}

// TestResizeMatchesXImage compares Resize with x/image/draw.BiLinear, the
// same filter implemented independently, on random images.
func TestResizeMatchesXImage(t *testing.T) {
	for _, tc := range []struct{ w, h, toW, toH, c int }{
		{28, 28, 32, 32, 1}, {28, 28, 14, 14, 1}, {20, 20, 28, 28, 1},
		{8, 8, 28, 28, 1}, {28, 28, 20, 20, 3}, {28, 28, 11, 37, 3}, {7, 5, 3, 2, 3},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_to_%dx%d", tc.w, tc.h, tc.c, tc.toW, tc.toH), func(t *testing.T) {
			d := &Dataset{Width: tc.w, Height: tc.h, Channels: tc.c, Labels: make([]int, 3), Classes: Classes}
			d.Pixels = noisePhoto("", tc.w*tc.h*tc.c, 3, 5).Image.Pix[:3*tc.w*tc.h*tc.c]
			got := d.Resize(tc.toW, tc.toH, tc.c)
			worst := 0
			for i := range d.Len() {
				want := image.NewRGBA(image.Rect(0, 0, tc.toW, tc.toH))
				src := d.ImageAt(i)
				xdraw.BiLinear.Scale(want, want.Rect, src, src.Bounds(), xdraw.Src, nil)
				px := got.Image(i)
				for j := range px {
					k := j/tc.c*4 + j%tc.c
					worst = max(worst, absInt(int(px[j])-int(want.Pix[k])))
				}
			}
			if worst > 1 {
				t.Errorf("max difference from x/image/draw.BiLinear: got %d levels, want at most 1", worst)
			}
		})
	}
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkResize(b *testing.B) {
	for _, tc := range []struct{ c, to int }{{1, 32}, {3, 32}} {
		b.Run(fmt.Sprintf("28x28x%d_to_%dx%dx3", tc.c, tc.to, tc.to), func(b *testing.B) {
			d := &Dataset{Width: 28, Height: 28, Channels: tc.c, Labels: make([]int, 1000), Classes: Classes}
			d.Pixels = make([]uint8, 1000*28*28*tc.c)
			b.ReportAllocs()
			for b.Loop() {
				d.Resize(tc.to, tc.to, 3)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d.Len()), "ns/image")
		})
	}
}
