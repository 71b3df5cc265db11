package augment

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// testImage returns a w×h image of reproducible noise.
func testImage(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		if i%4 == 3 {
			m.Pix[i] = 255
		} else {
			m.Pix[i] = uint8(r.IntN(256))
		}
	}
	return m
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }

func same(a, b *image.RGBA) bool {
	a, b = origin(a), origin(b)
	return a.Rect == b.Rect && bytes.Equal(a.Pix, b.Pix)
}

func TestInvolutions(t *testing.T) {
	img := testImage(13, 7, 1)
	tests := []struct {
		name string
		f    func(*image.RGBA) *image.RGBA
	}{
		{"FlipHorizontal", FlipHorizontal},
		{"Invert", Invert},
		{"flipVertical", flipVertical},
		{"Rotate 180", func(m *image.RGBA) *image.RGBA { return Rotate(m, 180, Bilinear, [3]uint8{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			once := tt.f(img)
			if same(once, img) {
				t.Fatal("one application changed nothing")
			}
			if !same(tt.f(once), img) {
				t.Error("two applications are not the identity")
			}
		})
	}
	sq := testImage(9, 9, 2)
	if !same(Rotate(Rotate(sq, 90, Nearest, [3]uint8{}), -90, Nearest, [3]uint8{}), sq) {
		t.Error("Rotate 90 then -90 is not the identity")
	}
	if !same(Rotate(Rotate(sq, 90, Nearest, [3]uint8{}), 90, Nearest, [3]uint8{}), Rotate(sq, 180, Nearest, [3]uint8{})) {
		t.Error("Rotate 90 twice is not Rotate 180")
	}
}

func TestFlipPixels(t *testing.T) {
	img := testImage(5, 3, 3)
	got := FlipHorizontal(img)
	for y := range 3 {
		for x := range 5 {
			if got.RGBAAt(x, y) != img.RGBAAt(4-x, y) {
				t.Fatalf("(%d, %d) is %v, want %v", x, y, got.RGBAAt(x, y), img.RGBAAt(4-x, y))
			}
		}
	}
}

// TestIdentities: transforms at their neutral setting return the image.
func TestIdentities(t *testing.T) {
	img := testImage(17, 11, 4)
	tests := []struct {
		name string
		f    func(*image.RGBA) *image.RGBA
	}{
		{"Brightness 1", func(m *image.RGBA) *image.RGBA { return Brightness(m, 1) }},
		{"Contrast 1", func(m *image.RGBA) *image.RGBA { return Contrast(m, 1) }},
		{"Color 1", func(m *image.RGBA) *image.RGBA { return Color(m, 1) }},
		{"Sharpness 1", func(m *image.RGBA) *image.RGBA { return Sharpness(m, 1) }},
		{"ColorJitter zero", func(m *image.RGBA) *image.RGBA { return ColorJitter{}.Apply(m, newRand(1)) }},
		{"Posterize 8", func(m *image.RGBA) *image.RGBA { return Posterize(m, 8) }},
		{"Solarize 256", func(m *image.RGBA) *image.RGBA { return Solarize(m, 256) }},
		{"SolarizeAdd 0", func(m *image.RGBA) *image.RGBA { return SolarizeAdd(m, 0, 128) }},
		{"Rotate 0", func(m *image.RGBA) *image.RGBA { return Rotate(m, 0, Bicubic, CLIPFill) }},
		{"Rotate 360", func(m *image.RGBA) *image.RGBA { return Rotate(m, 360, Bicubic, CLIPFill) }},
		{"ShearX 0", func(m *image.RGBA) *image.RGBA { return ShearX(m, 0, Bilinear, CLIPFill) }},
		{"TranslateYRel 0", func(m *image.RGBA) *image.RGBA { return TranslateYRel(m, 0, Bicubic, CLIPFill) }},
		{"Resize same", func(m *image.RGBA) *image.RGBA { return Resize{17, 11}.Apply(m, nil) }},
		{"ResizeShorter same", func(m *image.RGBA) *image.RGBA { return ResizeShorter{11}.Apply(m, nil) }},
		{"CenterCrop same", func(m *image.RGBA) *image.RGBA { return CenterCrop{17, 11}.Apply(m, nil) }},
		{"RandomCrop same", func(m *image.RGBA) *image.RGBA { return RandomCrop{17, 11}.Apply(m, newRand(1)) }},
		{"HorizontalFlip 0", func(m *image.RGBA) *image.RGBA { return HorizontalFlip{0}.Apply(m, newRand(1)) }},
		{"Pad 0", func(m *image.RGBA) *image.RGBA { return Pad{0}.Apply(m, nil) }},
		{"RandAugment n0", func(m *image.RGBA) *image.RGBA { return RandAugment{N: 0, M: 10}.Apply(m, newRand(1)) }},
		{"Compose empty", func(m *image.RGBA) *image.RGBA { return Compose{}.Apply(m, newRand(1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]uint8(nil), img.Pix...)
			if got := tt.f(img); !same(got, img) {
				t.Error("changed the image")
			}
			if !bytes.Equal(img.Pix, before) {
				t.Error("modified its input")
			}
		})
	}
}

func TestLUTOps(t *testing.T) {
	// One row holding every value 0..255 in each channel.
	ramp := image.NewRGBA(image.Rect(0, 0, 256, 1))
	for v := range 256 {
		ramp.SetRGBA(v, 0, color.RGBA{uint8(v), uint8(255 - v), uint8(v), 255})
	}
	red := func(m *image.RGBA, v int) int { return int(m.Pix[4*v]) }
	t.Run("Posterize", func(t *testing.T) {
		for bits := range 8 {
			got := Posterize(ramp, bits)
			for v := range 256 {
				want := v >> (8 - bits) << (8 - bits)
				if red(got, v) != want {
					t.Fatalf("bits %d: %d → %d, want %d", bits, v, red(got, v), want)
				}
			}
		}
	})
	t.Run("Solarize", func(t *testing.T) {
		for _, th := range []int{0, 1, 128, 200, 255, 256} {
			got := Solarize(ramp, th)
			for v := range 256 {
				want := v
				if v >= th {
					want = 255 - v
				}
				if red(got, v) != want {
					t.Fatalf("threshold %d: %d → %d, want %d", th, v, red(got, v), want)
				}
			}
		}
	})
	t.Run("SolarizeAdd", func(t *testing.T) {
		got := SolarizeAdd(ramp, 110, 128)
		for v, want := range map[int]int{0: 110, 17: 127, 127: 237, 128: 128, 200: 200} {
			if red(got, v) != want {
				t.Errorf("%d → %d, want %d", v, red(got, v), want)
			}
		}
		if got := SolarizeAdd(ramp, 200, 128); red(got, 100) != 255 {
			t.Errorf("not clipped at 255: 100+200 → %d", red(got, 100))
		}
	})
	t.Run("AutoContrast", func(t *testing.T) {
		m := image.NewRGBA(image.Rect(0, 0, 3, 1))
		for x, v := range []uint8{50, 100, 150} {
			m.SetRGBA(x, 0, color.RGBA{v, 7, v, 255})
		}
		got := AutoContrast(m)
		// (v − 50)·255/100, truncated; a channel of one value stays.
		for x, want := range []color.RGBA{{0, 7, 0, 255}, {127, 7, 127, 255}, {255, 7, 255, 255}} {
			if g := got.RGBAAt(x, 0); g != want {
				t.Errorf("pixel %d: %v, want %v", x, g, want)
			}
		}
	})
}

// TestEqualizeFlat: equalizing an image with a skewed histogram spreads its
// values so that the cumulative histogram is close to a straight line.
func TestEqualizeFlat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	m := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(m.Pix); i += 4 {
		v := uint8(r.ExpFloat64() * 20) // most values small
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = v, v, v, 255
	}
	got := Equalize(m)
	h := histograms(got)[0]
	n := 64 * 64
	cum := 0
	worst := 0.0
	for v := range 256 {
		cum += h[v]
		worst = max(worst, math.Abs(float64(cum)/float64(n)-float64(v+1)/256))
	}
	// The input's cumulative histogram is far from linear (over 0.6 off);
	// the output's is within the coarseness of its few input values.
	if worst > 0.1 {
		t.Errorf("cumulative histogram off the line by %.3f, want ≤ 0.1", worst)
	}
	hin := histograms(m)[0]
	if hin[0] == 0 || h[0] >= hin[0] && h[255] == 0 {
		t.Errorf("equalize did not spread the values")
	}
}

func TestCropGeometry(t *testing.T) {
	img := testImage(20, 10, 6)
	got := Crop(img, 3, 2, 5, 4)
	for y := range 4 {
		for x := range 5 {
			if got.RGBAAt(x, y) != img.RGBAAt(x+3, y+2) {
				t.Fatalf("(%d, %d) differs", x, y)
			}
		}
	}
	// A crop of a sub-image counts from its corner.
	sub := img.SubImage(image.Rect(4, 1, 20, 10)).(*image.RGBA)
	if !same(Crop(sub, 1, 1, 2, 2), Crop(img, 5, 2, 2, 2)) {
		t.Error("crop of a sub-image")
	}
	for _, c := range [][4]int{{-1, 0, 2, 2}, {0, 0, 21, 1}, {19, 9, 2, 1}, {0, 0, 0, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Crop%v did not panic", c)
				}
			}()
			Crop(img, c[0], c[1], c[2], c[3])
		}()
	}
}

func TestRandomCrop(t *testing.T) {
	img := testImage(12, 9, 7)
	r := newRand(3)
	seen := map[[2]int]bool{}
	for range 500 {
		got := RandomCrop{5, 4}.Apply(img, r)
		if w, h := size(got); w != 5 || h != 4 {
			t.Fatalf("size %dx%d", w, h)
		}
		found := false
		for top := 0; top <= 5 && !found; top++ {
			for left := 0; left <= 7 && !found; left++ {
				if same(got, Crop(img, left, top, 5, 4)) {
					seen[[2]int{left, top}] = true
					found = true
				}
			}
		}
		if !found {
			t.Fatal("crop is no window of the image")
		}
	}
	if len(seen) != 8*6 {
		t.Errorf("%d of 48 positions drawn in 500 crops", len(seen))
	}
	// Smaller than the crop: padded, never a panic.
	if w, h := size(RandomCrop{15, 4}.Apply(img, r)); w != 15 || h != 4 {
		t.Errorf("padded crop is %dx%d", w, h)
	}
}

func TestRandomResizedCropBounds(t *testing.T) {
	tests := []struct {
		name         string
		w, h         int
		scale, ratio [2]float64
	}{
		{"default", 60, 40, [2]float64{0.08, 1}, [2]float64{3.0 / 4, 4.0 / 3}},
		{"digits", 28, 28, [2]float64{0.75, 1.2}, [2]float64{3.0 / 4, 4.0 / 3}},
		{"tall", 20, 90, [2]float64{0.3, 1}, [2]float64{0.25, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage(tt.w, tt.h, 8)
			rc := RandomResizedCrop{Size: 16, Scale: tt.scale, Ratio: tt.ratio}
			r := newRand(9)
			area := float64(tt.w * tt.h)
			fallbacks := 0
			for range 2000 {
				left, top, w, h := rc.window(img, r)
				if left < 0 || top < 0 || w <= 0 || h <= 0 || left+w > tt.w || top+h > tt.h {
					t.Fatalf("window %dx%d at (%d, %d) outside %dx%d", w, h, left, top, tt.w, tt.h)
				}
				// Rounding each side by up to half a pixel moves the area
				// and the ratio a little past the bounds.
				frac := float64(w*h) / area
				ratio := float64(w) / float64(h)
				slack := 1/float64(min(w, h)) + 0.02
				inScale := frac >= tt.scale[0]*(1-slack) && frac <= tt.scale[1]*(1+slack)
				inRatio := ratio >= tt.ratio[0]*(1-slack) && ratio <= tt.ratio[1]*(1+slack)
				if !inScale || !inRatio {
					// Only the fallback's centre crop may leave the bounds.
					if left != (tt.w-w)/2 || top != (tt.h-h)/2 {
						t.Fatalf("window %dx%d: area fraction %.3f, ratio %.3f outside %v, %v", w, h, frac, ratio, tt.scale, tt.ratio)
					}
					fallbacks++
				}
			}
			if fallbacks > 200 {
				t.Errorf("%d of 2000 windows fell back to the centre", fallbacks)
			}
			if out := rc.Apply(img, r); out.Rect != image.Rect(0, 0, 16, 16) {
				t.Errorf("output %v", out.Rect)
			}
		})
	}
	// The fallback: no window fits a 100x1 image with ratio ≤ 4/3.
	left, top, w, h := RandomResizedCrop{Size: 8, Scale: [2]float64{0.5, 1}, Ratio: [2]float64{0.75, 4.0 / 3}}.window(testImage(100, 1, 1), newRand(1))
	if left != 49 || top != 0 || w != 1 || h != 1 {
		t.Errorf("fallback window %dx%d at (%d, %d), want 1x1 at (49, 0)", w, h, left, top)
	}
}

// TestDeterminism: every random transform gives equal images for equal
// sources and, over a few seeds, different ones for different sources.
func TestDeterminism(t *testing.T) {
	img := testImage(40, 30, 10)
	recipe, err := ForBenchmark("officehome", 32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []Transform{
		RandomCrop{20, 20},
		RandomResizedCrop{Size: 16, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{0.75, 4.0 / 3}},
		HorizontalFlip{0.5},
		RandomRotation{10},
		ColorJitter{0.4, 0.4, 0.4, 0.1},
		FixMatchRandAugment(),
		recipe.Train,
		recipe.Strong,
		USPSTrain(16),
	}
	for _, tr := range tests {
		t.Run(tr.String(), func(t *testing.T) {
			distinct := 0
			for seed := range uint64(8) {
				a, b := tr.Apply(img, newRand(seed)), tr.Apply(img, newRand(seed))
				if !same(a, b) {
					t.Fatalf("seed %d: two runs differ", seed)
				}
				if !same(a, tr.Apply(img, newRand(seed+100))) {
					distinct++
				}
			}
			if distinct == 0 {
				t.Error("every seed gave the same image")
			}
		})
	}
}

func TestRandAugmentDraws(t *testing.T) {
	img := testImage(24, 24, 11)
	// With MStd 0 and N 1 the result is one of: the image (op skipped) or
	// one operation at magnitude 10 with either sign and filter.
	ra := RandAugment{N: 1, M: 10, Fill: CLIPFill}
	var candidates []*image.RGBA
	for _, op := range randOps {
		for _, sign := range []float64{1, -1} {
			if sign < 0 && !op.signed {
				continue
			}
			for _, interp := range []Interpolation{Bilinear, Bicubic} {
				candidates = append(candidates, op.apply(img, sign*op.level(10), interp, CLIPFill))
			}
		}
	}
	r := newRand(12)
	unchanged := 0
	const n = 400
	for range n {
		got := ra.Apply(img, r)
		if same(got, img) {
			unchanged++
			continue
		}
		if !slices.ContainsFunc(candidates, func(c *image.RGBA) bool { return same(c, got) }) {
			t.Fatal("result is no single operation at magnitude 10")
		}
	}
	// Skipped half the time, plus the ops that change nothing at m = 10
	// (Solarize at 256, PosterizeTpu keeping 4 bits changes this image).
	if frac := float64(unchanged) / n; frac < 0.45 || frac > 0.65 {
		t.Errorf("unchanged %.2f of the time, want about 0.5–0.57", frac)
	}
}

func TestParseRandAugment(t *testing.T) {
	tests := []struct {
		config string
		want   RandAugment
		err    string
	}{
		{"rand-n2-m10-mstd0.5", RandAugment{N: 2, M: 10, MStd: 0.5, Fill: CLIPFill}, ""},
		{"rand-m9-mstd0.5-n3", RandAugment{N: 3, M: 9, MStd: 0.5, Fill: CLIPFill}, ""},
		{"rand", RandAugment{N: 2, M: 10, Fill: CLIPFill}, ""},
		{"auto-n2", RandAugment{}, "does not start"},
		{"rand-w0", RandAugment{}, "unsupported section"},
		{"rand-n", RandAugment{}, "not a key and a number"},
		{"rand-m11", RandAugment{}, "0 ≤ m ≤ 10"},
		{"rand-m1.5", RandAugment{}, "section \"m1.5\""},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			got, err := ParseRandAugment(tt.config, CLIPFill)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if FixMatchRandAugment() != (RandAugment{N: 2, M: 10, MStd: 0.5, Fill: [3]uint8{123, 117, 104}}) {
		t.Errorf("FixMatchRandAugment is %+v", FixMatchRandAugment())
	}
	if len(RandOps) != 15 {
		t.Errorf("%d RandAugment operations, want 15", len(RandOps))
	}
}

func TestLevels(t *testing.T) {
	want := map[string][2]float64{ // magnitude 10 and 5
		"Rotate": {30, 15}, "ShearX": {0.3, 0.15}, "TranslateYRel": {0.45, 0.225},
		"PosterizeTpu": {4, 2}, "Solarize": {256, 128}, "SolarizeAdd": {110, 55},
		"Color": {1.9, 1.0}, "Sharpness": {1.9, 1.0},
	}
	for _, op := range randOps {
		w, ok := want[op.name]
		if !ok {
			continue
		}
		for i, m := range []float64{10, 5} {
			if got := op.level(m); math.Abs(got-w[i]) > 1e-12 {
				t.Errorf("%s level(%g) = %g, want %g", op.name, m, got, w[i])
			}
		}
	}
}

func TestRecipes(t *testing.T) {
	img := testImage(50, 37, 13)
	for _, name := range Benchmarks {
		for _, size := range []int{224, 32, 28} {
			r, err := ForBenchmark(name, size)
			if err != nil {
				t.Fatal(err)
			}
			small := size < 100
			for view, tr := range map[string]Transform{"train": r.Train, "test": r.Test, "strong": r.Strong} {
				if !small && name != "visda" && view != "test" {
					continue // the 224-pixel runs are slow and add nothing
				}
				got := tr.Apply(img, newRand(1))
				w, h := size, size
				if name == "digits" && view == "test" {
					w = 50 * size / 37 // Resize(size) keeps the aspect ratio
				}
				if gw, gh := got.Rect.Dx(), got.Rect.Dy(); gw != w || gh != h {
					t.Errorf("%s %d %s: %dx%d, want %dx%d", name, size, view, gw, gh, w, h)
				}
			}
		}
	}
	if _, err := ForBenchmark("office-31", 224); err == nil || !strings.Contains(err.Error(), "office31") {
		t.Errorf("unknown benchmark: error %v, want one listing the names", err)
	}
	for size, want := range map[int]int{224: 256, 28: 32, 32: 37, 16: 18} {
		if got := PreCropSize(size); got != want {
			t.Errorf("PreCropSize(%d) = %d, want %d", size, got, want)
		}
	}
	r, _ := ForBenchmark("office31", 224)
	if got := r.Strong.String(); !strings.Contains(got, "Resize([256, 256]), CenterCrop([224, 224]), RandomHorizontalFlip(p=0.5), ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0), RandAugment(rand-n2-m10-mstd0.5") {
		t.Errorf("strong view %s", got)
	}
	if got := USPSTrain(28).Apply(testImage(16, 16, 1), newRand(1)); got.Rect.Dx() != 28 || got.Rect.Dy() != 28 {
		t.Errorf("USPSTrain gives %v", got.Rect)
	}
}

func TestApplyConvertsToRGB(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	g.Pix = []uint8{0, 50, 100, 150, 200, 250}
	got := Apply(Compose{}, g, newRand(1))
	for i, v := range g.Pix {
		if p := got.Pix[4*i : 4*i+4]; !bytes.Equal(p, []uint8{v, v, v, 255}) {
			t.Errorf("pixel %d is %v, want grey %d", i, p, v)
		}
	}
}

func TestMisusePanics(t *testing.T) {
	img := testImage(4, 4, 1)
	for name, f := range map[string]func(){
		"Resize 0":          func() { Resize{0, 3}.Apply(img, nil) },
		"HorizontalFlip 2":  func() { HorizontalFlip{2}.Apply(img, newRand(1)) },
		"AdjustHue 0.6":     func() { AdjustHue(img, 0.6) },
		"ColorJitter hue 1": func() { ColorJitter{Hue: 1}.Apply(img, newRand(1)) },
		"RRC bad scale": func() {
			RandomResizedCrop{Size: 4, Scale: [2]float64{1, 0.5}, Ratio: [2]float64{1, 1}}.Apply(img, newRand(1))
		},
		"Posterize -1":    func() { Posterize(img, -1) },
		"Affine interp 7": func() { Affine(img, [6]float64{1, 0, 0, 0, 1, 0}, 7, [3]uint8{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "augment: ") {
					t.Errorf("recovered %v, want an \"augment: \" panic", r)
				}
			}()
			f()
		})
	}
}
