package pretrain

import (
	"bytes"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp/tokenizer"
)

// testGlyphs is a corpus over four Go faces, rasterised once for all tests.
var testGlyphs = sync.OnceValues(func() (*Corpus, error) {
	return NewCorpus(CorpusOptions{Faces: digits.GoFaces()[:4]})
})

// goCorpus returns a corpus over four Go faces with options o (Faces
// ignored), sharing the rasterised glyphs of testGlyphs.
func goCorpus(t *testing.T, o CorpusOptions) *Corpus {
	t.Helper()
	base, err := testGlyphs()
	if err != nil {
		t.Fatal(err)
	}
	c := *base
	o.Faces = base.opt.Faces
	c.opt = o.withDefaults()
	return &c
}

// fakePhoto returns a textured 64×64 photo with the given file name.
func fakePhoto(name string) digits.Photo {
	m := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7 % 251)
	}
	return digits.Photo{Name: name, Image: m}
}

func TestCorpusDeterministic(t *testing.T) {
	photos := []digits.Photo{fakePhoto("brick.png"), fakePhoto("grass.png")}
	a := goCorpus(t, CorpusOptions{Seed: 7, Photos: photos})
	b := goCorpus(t, CorpusOptions{Seed: 7, Photos: photos})
	other := goCorpus(t, CorpusOptions{Seed: 8, Photos: photos})
	held := goCorpus(t, CorpusOptions{Seed: 7, Photos: photos, HeldOut: true})

	const n = 64
	fa, fb := make([]Sample, n), make([]Sample, n)
	a.Fill(fa, 100, 0.5)
	b.Fill(fb, 100, 0.5)
	var sameOther, sameHeld int
	for i := range n {
		one := a.Sample(100+i, 0.5)
		if !slices.Equal(fa[i].Pixels, fb[i].Pixels) || fa[i].Caption != fb[i].Caption || fa[i].Label != fb[i].Label {
			t.Fatalf("sample %d differs between two corpora of seed 7", 100+i)
		}
		if !slices.Equal(fa[i].Pixels, one.Pixels) || fa[i].Caption != one.Caption {
			t.Fatalf("sample %d: Fill and Sample differ", 100+i)
		}
		if slices.Equal(fa[i].Pixels, other.Sample(100+i, 0.5).Pixels) {
			sameOther++
		}
		if slices.Equal(fa[i].Pixels, held.Sample(100+i, 0.5).Pixels) {
			sameHeld++
		}
		// The curriculum changes captions, never images.
		if plain := a.Sample(100+i, 0); !slices.Equal(plain.Pixels, one.Pixels) || plain.Label != one.Label {
			t.Fatalf("sample %d: the image changes with the attribute share", 100+i)
		}
	}
	if sameOther > 0 || sameHeld > 0 {
		t.Errorf("images equal to seed 8's: %d, to the held-out stream's: %d; want 0", sameOther, sameHeld)
	}
}

func TestCorpusCaptions(t *testing.T) {
	c := goCorpus(t, CorpusOptions{Seed: 1})
	classes := c.Classes()
	tests := []struct {
		name  string
		share float64
		// wantAttr bounds the fraction of attribute captions.
		lo, hi float64
	}{
		{"identity only", 0, 0, 0},
		{"some attributes", 0.2, 0.1, 0.3},
		{"all attributes", 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 600
			s := make([]Sample, n)
			c.Fill(s, 0, tt.share)
			var attrs, nDigits int
			for i, smp := range s {
				cls := classes[smp.Label]
				if !strings.Contains(smp.Caption, `"`+cls.Name+`"`) || !strings.Contains(smp.Caption, cls.Kind.String()) && !strings.Contains(smp.Caption, "digit") {
					t.Fatalf("sample %d: caption %q does not name class %q (%v)", i, smp.Caption, cls.Name, cls.Kind)
				}
				if strings.Contains(smp.Caption, " background") {
					attrs++
				}
				if cls.Kind == Digit {
					nDigits++
				}
				if len(smp.Pixels) != 32*32*3 {
					t.Fatalf("sample %d has %d bytes, want %d", i, len(smp.Pixels), 32*32*3)
				}
			}
			if f := float64(attrs) / n; f < tt.lo || f > tt.hi {
				t.Errorf("attribute captions: %.3f of the samples, want [%g, %g]", f, tt.lo, tt.hi)
			}
			if f := float64(nDigits) / n; math.Abs(f-0.45) > 0.06 {
				t.Errorf("digits: %.3f of the samples, want 0.45 ± 0.05", f)
			}
		})
	}
}

func TestCorpusDigitLabels(t *testing.T) {
	classes := Classes()
	for d := range 10 {
		if classes[d].Name != digits.Classes[d] || classes[d].Kind != Digit {
			t.Fatalf("class %d is %+v, want the digit %s", d, classes[d], digits.Classes[d])
		}
	}
	c := goCorpus(t, CorpusOptions{DigitsOnly: true, HeldOut: true})
	for i := range 200 {
		s := c.Sample(i, 0)
		if s.Label > 9 {
			t.Fatalf("digits-only sample %d has label %d", i, s.Label)
		}
		if want := strings.ReplaceAll(Prompt, "{}", digits.Classes[s.Label]); strings.HasPrefix(s.Caption, "a photo of the number: ") && strings.HasSuffix(s.Caption, ".") && s.Caption != want {
			t.Fatalf("sample %d: caption %q, want the prompt %q", i, s.Caption, want)
		}
	}
}

// TestCaptionsFitContext tokenizes the longest caption of every class and
// template and checks that it fits ContextLength.
func TestCaptionsFitContext(t *testing.T) {
	longest := background{kind: bgFlat, colour: "purple"}
	var texts []string
	for _, c := range Classes() {
		for i := range identityTemplates[c.Kind] {
			texts = append(texts, identityCaption(c, i))
			for _, ink := range palette {
				texts = append(texts, attributeCaption(c, i, ink.name, longest))
			}
			texts = append(texts, attributeCaption(c, i, "purple", background{kind: bgPhoto}))
		}
	}
	if _, err := tokenizer.Tokenize(texts, ContextLength, false); err != nil {
		t.Fatalf("captions do not fit %d tokens: %v", ContextLength, err)
	}
}

func TestCorpusPhotoPool(t *testing.T) {
	faces := digits.GoFaces()[:1]
	for _, name := range digits.MNISTMPool.Photos() {
		_, err := NewCorpus(CorpusOptions{Faces: faces, Photos: []digits.Photo{fakePhoto(name)}})
		if err == nil || !strings.Contains(err.Error(), "corpus pool") {
			t.Errorf("NewCorpus with the MNIST-M photo %s: err %v, want a refusal", name, err)
		}
	}
	var photos []digits.Photo
	for _, name := range digits.CorpusPool.Photos() {
		photos = append(photos, fakePhoto(name))
	}
	c, err := NewCorpus(CorpusOptions{Faces: faces, Photos: photos})
	if err != nil {
		t.Fatalf("NewCorpus with the corpus pool: %v", err)
	}
	// Photo backgrounds are drawn: some captions say so.
	s := make([]Sample, 200)
	c.Fill(s, 0, 1)
	var textured int
	for _, smp := range s {
		if strings.Contains(smp.Caption, "textured background") {
			textured++
		}
	}
	if textured == 0 {
		t.Errorf("no photo background in 200 samples")
	}
}

func TestStandardize(t *testing.T) {
	const w, h = 5, 4
	rgb := make([]uint8, w*h*3)
	for i := range rgb {
		rgb[i] = uint8(i * 37 % 256)
	}
	grey := make([]uint8, w*h)
	greyRGB := make([]uint8, w*h*3)
	for i := range grey {
		grey[i] = uint8(i * 53 % 256)
		greyRGB[3*i], greyRGB[3*i+1], greyRGB[3*i+2] = grey[i], grey[i], grey[i]
	}
	tests := []struct {
		name     string
		pix      []uint8
		channels int
		wantStd  float64
	}{
		{"rgb", rgb, 3, 1},
		{"grey", grey, 1, 1},
		{"flat", bytes.Repeat([]uint8{200}, w*h*3), 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, 3*w*h)
			Standardize(dst, tt.pix, w, h, tt.channels)
			var s, sq float64
			for _, v := range dst {
				s += float64(v)
				sq += float64(v) * float64(v)
			}
			m := s / float64(len(dst))
			std := math.Sqrt(sq/float64(len(dst)) - m*m)
			if math.Abs(m) > 1e-5 || math.Abs(std-tt.wantStd) > 1e-4 {
				t.Errorf("mean %g, std %g; want 0 and %g", m, std, tt.wantStd)
			}
		})
	}
	a, b := make([]float32, 3*w*h), make([]float32, 3*w*h)
	Standardize(a, grey, w, h, 1)
	Standardize(b, greyRGB, w, h, 3)
	if !slices.Equal(a, b) {
		t.Errorf("a grey image and its RGB copy standardise differently")
	}
	// Channel-major output: value (c, y, x) is pixel (y, x) channel c,
	// standardised with the statistics of all 3·w·h values.
	Standardize(a, rgb, w, h, 3)
	var sum, sq float64
	for _, v := range rgb {
		sum += float64(v) / 255
		sq += float64(v) / 255 * float64(v) / 255
	}
	mean := sum / float64(len(rgb))
	std := math.Sqrt(sq/float64(len(rgb)) - mean*mean)
	for c := range 3 {
		for p := range w * h {
			want := (float64(rgb[3*p+c])/255 - mean) / std
			if got := float64(a[c*w*h+p]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("value (%d, %d, %d) = %g, want %g", c, p/w, p%w, got, want)
			}
		}
	}
}
