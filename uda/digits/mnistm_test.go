package digits

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"runtime"
	"slices"
	"testing"
)

// uniformPhoto returns a w x h photo of one colour.
func uniformPhoto(name string, w, h int, c color.RGBA) Photo {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Rect, image.NewUniform(c), image.Point{}, draw.Src)
	return Photo{Name: name, Image: m}
}

func TestBlendMNISTM(t *testing.T) {
	d := ramp(40, 4, 3)
	red, blue := color.RGBA{200, 10, 60, 255}, color.RGBA{0, 90, 255, 255}
	photos := []Photo{uniformPhoto("red", 9, 5, red), uniformPhoto("blue", 4, 3, blue)}
	out := BlendMNISTM(d, photos, 7)
	if out.Name != MNISTM || out.Channels != 3 || out.Width != 4 || out.Height != 3 || !slices.Equal(out.Labels, d.Labels) {
		t.Fatalf("got %s %dx%dx%d labels %v", out.Name, out.Width, out.Height, out.Channels, out.Labels)
	}
	used := map[string]int{}
	for i := range d.Len() {
		got := out.Image(i)
		// Every pixel is |photo - digit| for one of the two colours.
		matched := false
		for _, p := range []struct {
			name string
			c    color.RGBA
		}{{"red", red}, {"blue", blue}} {
			want := make([]uint8, 0, len(got))
			for _, g := range d.Image(i) {
				want = append(want, absDiff(p.c.R, g), absDiff(p.c.G, g), absDiff(p.c.B, g))
			}
			if bytes.Equal(got, want) {
				matched = true
				used[p.name]++
			}
		}
		if !matched {
			t.Fatalf("image %d: %v is |photo - digit| for neither photo", i, got)
		}
	}
	if used["red"] == 0 || used["blue"] == 0 {
		t.Errorf("photos used %v, want both", used)
	}
}

func TestBlendMNISTMDeterministic(t *testing.T) {
	d := ramp(64, 6, 6)
	photos := []Photo{noisePhoto("a", 40, 30, 1), noisePhoto("b", 25, 50, 2)}
	a := BlendMNISTM(d, photos, 1)
	prev := runtime.GOMAXPROCS(1)
	b := BlendMNISTM(d, photos, 1)
	runtime.GOMAXPROCS(prev)
	if !bytes.Equal(a.Pixels, b.Pixels) {
		t.Errorf("seed 1 gave different pixels at GOMAXPROCS %d and 1", prev)
	}
	if c := BlendMNISTM(d, photos, 2); bytes.Equal(a.Pixels, c.Pixels) {
		t.Errorf("seeds 1 and 2 gave the same pixels")
	}
	test := d.Subset(allIndices(d.Len()))
	test.Split = Test
	if c := BlendMNISTM(test, photos, 1); bytes.Equal(a.Pixels, c.Pixels) {
		t.Errorf("train and test splits gave the same crops")
	}
}

// noisePhoto returns a w x h photo of pseudo-random colours.
func noisePhoto(name string, w, h int, seed uint32) Photo {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	x := seed
	for i := range m.Pix {
		x = x*1664525 + 1013904223
		m.Pix[i] = uint8(x >> 24)
	}
	return Photo{Name: name, Image: m}
}

func TestPoolsDisjoint(t *testing.T) {
	m, c := MNISTMPool.Photos(), CorpusPool.Photos()
	if len(m) == 0 || len(c) == 0 {
		t.Fatalf("pools %v and %v, want both non-empty", m, c)
	}
	for _, name := range m {
		if CorpusPool.Contains(name) || !MNISTMPool.Contains(name) {
			t.Errorf("%s: in corpus %v, in mnistm %v; want mnistm only", name, CorpusPool.Contains(name), MNISTMPool.Contains(name))
		}
	}
	for _, name := range c {
		if MNISTMPool.Contains(name) {
			t.Errorf("%s is in both pools", name)
		}
	}
	// Every photo file is in exactly one pool, and no two files share a name.
	seen := map[string]bool{}
	for _, f := range debFiles {
		if f.kind != kindMNISTM && f.kind != kindCorpus {
			continue
		}
		if seen[f.base()] {
			t.Errorf("two photos named %s", f.base())
		}
		seen[f.base()] = true
	}
	if len(seen) != len(m)+len(c) {
		t.Errorf("%d photo files, %d in pools", len(seen), len(m)+len(c))
	}
}

// allIndices returns 0, 1, ..., n-1.
func allIndices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
