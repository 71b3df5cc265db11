package digits

import (
	"bytes"
	"math"
	"testing"
)

func TestGoFaces(t *testing.T) {
	faces := GoFaces()
	seen := map[string]bool{}
	for _, f := range faces {
		if f.Font == nil || seen[f.Name] {
			t.Errorf("face %q: nil font or repeated name", f.Name)
		}
		seen[f.Name] = true
	}
	if len(faces) != 12 {
		t.Errorf("got %d Go faces, want 12", len(faces))
	}
	faces[0].Name = "changed"
	if GoFaces()[0].Name == "changed" {
		t.Errorf("GoFaces returns a shared slice")
	}
}

// inkStats returns the centre of mass and the ink box of a grey image.
func inkStats(px []uint8, w int) (cx, cy float64, boxW, boxH int) {
	var sum float64
	x0, y0, x1, y1 := w, len(px)/w, -1, -1
	for i, v := range px {
		if v == 0 {
			continue
		}
		x, y := i%w, i/w
		sum += float64(v)
		cx += float64(v) * (float64(x) + 0.5)
		cy += float64(v) * (float64(y) + 0.5)
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	return cx / sum, cy / sum, x1 - x0 + 1, y1 - y0 + 1
}

func TestRenderDigits(t *testing.T) {
	faces := GoFaces()
	for _, tc := range []struct {
		name string
		opt  RenderOptions
	}{
		{"defaults", RenderOptions{PerClass: 4, Seed: 3}},
		{"rotated 32px", RenderOptions{PerClass: 4, Seed: 3, Size: 32, MaxRotation: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := RenderDigits(faces, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			o := tc.opt.withDefaults()
			if d.Len() != 40 || d.Width != o.Size || d.Height != o.Size || d.Channels != 1 {
				t.Fatalf("got %d images of %dx%dx%d", d.Len(), d.Width, d.Height, d.Channels)
			}
			size := float64(o.Size)
			for i := range d.Len() {
				if d.Labels[i] != i%10 {
					t.Errorf("image %d: label %d, want %d", i, d.Labels[i], i%10)
				}
				cx, cy, bw, bh := inkStats(d.Image(i), o.Size)
				// The shift is at most Jitter*Size; resampling moves the centre
				// of mass by under a pixel.
				if lim := o.Jitter*size + 1; math.Abs(cx-size/2) > lim || math.Abs(cy-size/2) > lim {
					t.Errorf("image %d: centre of mass (%.1f, %.1f), want within %.1f of %.1f", i, cx, cy, lim, size/2)
				}
				// Rotation can stretch the box by up to sqrt(2).
				long, lo, hi := float64(max(bw, bh)), o.MinBox*size-1, o.MaxBox*size*math.Sqrt2+2
				if o.MaxRotation == 0 {
					hi = o.MaxBox*size + 2
				}
				if long < lo || long > hi {
					t.Errorf("image %d: ink box %dx%d, want longer side in [%.0f, %.0f]", i, bw, bh, lo, hi)
				}
			}
		})
	}
}

func TestRenderDigitsDeterministic(t *testing.T) {
	faces := GoFaces()[:3]
	opt := RenderOptions{PerClass: 3, Seed: 9}
	a, _ := RenderDigits(faces, opt)
	b, _ := RenderDigits(faces, opt)
	if !bytes.Equal(a.Pixels, b.Pixels) {
		t.Errorf("the same options gave different images")
	}
	for _, o := range []RenderOptions{{PerClass: 3, Seed: 10}, {PerClass: 3, Seed: 9, Split: Test}} {
		c, _ := RenderDigits(faces, o)
		if bytes.Equal(a.Pixels, c.Pixels) {
			t.Errorf("options %+v gave the same images as %+v", o, opt)
		}
	}
}

func TestRenderDigitsBad(t *testing.T) {
	if _, err := RenderDigits(nil, RenderOptions{}); err == nil {
		t.Errorf("no faces: got no error")
	}
	if _, err := RenderDigits(GoFaces(), RenderOptions{MinBox: 0.9, MaxBox: 0.5}); err == nil {
		t.Errorf("MinBox > MaxBox: got no error")
	}
}

func TestRenderDigitsNoJitter(t *testing.T) {
	d, err := RenderDigits(GoFaces()[:1], RenderOptions{PerClass: 1, Jitter: -1, MinBox: 0.7, MaxBox: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Len() {
		if cx, cy, _, _ := inkStats(d.Image(i), 28); math.Abs(cx-14) > 0.6 || math.Abs(cy-14) > 0.6 {
			t.Errorf("digit %d: centre of mass (%.2f, %.2f), want (14, 14) within 0.6", i, cx, cy)
		}
	}
}
