package vlp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// goldenCase is one entry of the "cases" metadata of
// testdata/preprocess.safetensors (made by testdata/preprocess.py).
type goldenCase struct {
	File       string `json:"file"`
	Transform  string `json:"transform"`
	Size       int    `json:"size"`
	Key        string `json:"key"`
	Exact      bool   `json:"exact"`
	Normalized string `json:"normalized"`
}

func readGolden(t *testing.T) (*safetensors.File, []goldenCase) {
	t.Helper()
	f, err := safetensors.ReadFile("testdata/preprocess.safetensors")
	if err != nil {
		t.Fatalf("golden data missing (make it with testdata/preprocess.py): %v", err)
	}
	var cases []goldenCase
	if err := json.Unmarshal([]byte(f.Metadata["cases"]), &cases); err != nil {
		t.Fatalf("cases metadata: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/preprocess.safetensors")
	}
	return f, cases
}

// hwc returns the R, G, B samples of img row by row.
func hwc(img *image.RGBA) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := img.PixOffset(x, y)
			out = append(out, img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		}
	}
	return out
}

// maxByteDiff returns the largest |a[i]−b[i]| and how many differ.
func maxByteDiff(a, b []byte) (maxd, n int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d != 0 {
			n++
			maxd = max(maxd, d, -d)
		}
	}
	return maxd, n
}

// transformRGB applies the resize and crop of a transform to an RGB image.
func transformRGB(m *image.RGBA, tr Transform, size int) *image.RGBA {
	if tr == ResizeCrop {
		return CenterCrop(ResizeShorter(m, size), size, size)
	}
	return ResizeBicubic(m, size, size)
}

// On JPEG files the samples differ from PIL's because of the decoder, not
// the resize: image/jpeg's inverse DCT is not libjpeg's, so the decoded
// pixels already differ by a level or two in a few per cent of the
// samples. jpegTolerance bounds the difference, and jpegDecodedShare and
// jpegResizedShare the share of samples that differ (decoded, and after
// resizing); a wrong chroma filter or colour conversion exceeds them.
const (
	jpegTolerance    = 3
	jpegDecodedShare = 0.06
	jpegResizedShare = 0.10
)

func TestPreprocessGolden(t *testing.T) {
	f, cases := readGolden(t)
	for _, c := range cases {
		t.Run(c.Key, func(t *testing.T) {
			want := f.Tensor(c.Key)
			if want == nil {
				t.Fatalf("no tensor %q", c.Key)
			}
			img, err := ReadImage(filepath.Join("testdata", "preprocess", c.File))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := ParseTransform(c.Transform)
			if err != nil {
				t.Fatal(err)
			}
			got := transformRGB(RGB(img), tr, c.Size)
			if b := got.Bounds(); b.Dx() != c.Size || b.Dy() != c.Size {
				t.Fatalf("size %v, want %dx%d", b.Size(), c.Size, c.Size)
			}
			d, n := maxByteDiff(hwc(got), want.Data)
			if c.Exact && d != 0 {
				t.Errorf("%d of %d samples differ from PIL, max |diff| %d, want 0", n, len(want.Data), d)
			}
			if !c.Exact {
				t.Logf("decoder difference: %d of %d samples differ, max |diff| %d", n, len(want.Data), d)
				if d > jpegTolerance || float64(n) > jpegResizedShare*float64(len(want.Data)) {
					t.Errorf("%d of %d samples differ by up to %d, want ≤ %d differing by ≤ %d",
						n, len(want.Data), d, int(jpegResizedShare*float64(len(want.Data))), jpegTolerance)
				}
			}
			if c.Normalized == "" {
				return
			}
			wantF := f.Tensor(c.Normalized).Float32()
			gotF := make([]float32, 3*c.Size*c.Size)
			PreprocessImage(gotF, img, c.Size, tr)
			var maxd float64
			for i := range gotF {
				maxd = math.Max(maxd, math.Abs(float64(gotF[i]-wantF[i])))
			}
			t.Logf("normalized: max |diff| %g", maxd)
			if maxd > 1e-6 {
				t.Errorf("normalized tensor: max |diff| %g, want ≤ 1e-6", maxd)
			}
		})
	}
}

// TestDecodeJPEG measures how far Go's JPEG decoder is from libjpeg's (the
// decoded pixels PIL gives), so that the JPEG tolerance above is explained.
func TestDecodeJPEG(t *testing.T) {
	f, _ := readGolden(t)
	var names []string
	for _, tt := range f.Tensors {
		if name, ok := strings.CutSuffix(tt.Name, "/decoded"); ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Fatal("no decoded JPEG pixels in the golden data")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			img, err := ReadImage(filepath.Join("testdata", "preprocess", name))
			if err != nil {
				t.Fatal(err)
			}
			want := f.Tensor(name + "/decoded")
			d, n := maxByteDiff(hwc(RGB(img)), want.Data)
			t.Logf("decoded pixels: %d of %d samples differ from libjpeg's, max |diff| %d", n, len(want.Data), d)
			if d > jpegTolerance || float64(n) > jpegDecodedShare*float64(len(want.Data)) {
				t.Errorf("%d of %d samples differ by up to %d, want ≤ %d differing by ≤ %d",
					n, len(want.Data), d, int(jpegDecodedShare*float64(len(want.Data))), jpegTolerance)
			}
		})
	}
}

func TestResizeShorterSizes(t *testing.T) {
	tests := []struct {
		w, h, size   int
		wantW, wantH int
	}{
		{61, 37, 32, 52, 32},   // int(32·61/37) = 52
		{23, 41, 32, 32, 57},   // int(32·41/23) = 57
		{100, 100, 32, 32, 32}, // square
		{32, 90, 32, 32, 90},   // shorter side already 32: unchanged
		{640, 480, 224, 298, 224},
		{3, 1000, 224, 224, 74666},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d_%d", tt.w, tt.h, tt.size), func(t *testing.T) {
			if tt.h > 10000 && testing.Short() {
				tt.h, tt.wantH = 100, 7466
			}
			m := image.NewRGBA(image.Rect(0, 0, tt.w, tt.h))
			got := ResizeShorter(m, tt.size).Bounds().Size()
			if got.X != tt.wantW || got.Y != tt.wantH {
				t.Errorf("got %v, want %dx%d", got, tt.wantW, tt.wantH)
			}
		})
	}
}

// numbered returns a w×h opaque image whose pixel (x, y) is (x, y, x+y).
func numbered(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return m
}

func TestCenterCrop(t *testing.T) {
	tests := []struct {
		name         string
		w, h         int // image
		cw, ch       int // crop
		left, top    int // where the crop's (0, 0) is in the image
		wantW, wantH int
	}{
		{"same", 5, 5, 5, 5, 0, 0, 5, 5},
		{"half to even 0.5", 6, 5, 5, 5, 0, 0, 5, 5},    // round(0.5) = 0
		{"half to even 1.5", 8, 5, 5, 5, 2, 0, 5, 5},    // round(1.5) = 2
		{"half to even 2.5", 10, 5, 5, 5, 2, 0, 5, 5},   // round(2.5) = 2
		{"half to even 12.5", 7, 32, 7, 7, 0, 12, 7, 7}, // round(12.5) = 12
		{"pad odd", 3, 6, 6, 6, -1, 0, 6, 6},            // pad 1 left, 2 right
		{"pad both", 2, 2, 5, 4, -1, -1, 5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := numbered(tt.w, tt.h)
			got := CenterCrop(m, tt.cw, tt.ch)
			if s := got.Bounds().Size(); s.X != tt.wantW || s.Y != tt.wantH {
				t.Fatalf("size %v, want %dx%d", s, tt.wantW, tt.wantH)
			}
			for y := range tt.ch {
				for x := range tt.cw {
					sx, sy := x+tt.left, y+tt.top
					want := color.RGBA{0, 0, 0, 255}
					if sx >= 0 && sx < tt.w && sy >= 0 && sy < tt.h {
						want = m.RGBAAt(sx, sy)
					}
					if c := got.RGBAAt(x, y); c != want {
						t.Fatalf("pixel (%d, %d) = %v, want %v", x, y, c, want)
					}
				}
			}
		})
	}
}

func TestResizeBicubicProperties(t *testing.T) {
	t.Run("same size is unchanged", func(t *testing.T) {
		m := numbered(7, 9)
		if got := ResizeBicubic(m, 7, 9); got != m {
			t.Error("got a new image, want the input")
		}
	})
	t.Run("constant stays constant", func(t *testing.T) {
		for _, sz := range [][4]int{{50, 30, 7, 11}, {7, 11, 50, 30}, {100, 1, 3, 1}, {1, 1, 5, 4}} {
			m := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
			for i := range m.Pix {
				m.Pix[i] = []uint8{200, 17, 255, 255}[i%4]
			}
			got := ResizeBicubic(m, sz[2], sz[3])
			for i, v := range got.Pix {
				if want := []uint8{200, 17, 255, 255}[i%4]; v != want {
					t.Fatalf("%v: sample %d = %d, want %d", sz, i, v, want)
				}
			}
		}
	})
	t.Run("subimage", func(t *testing.T) {
		m := numbered(40, 30)
		sub := m.SubImage(image.Rect(5, 3, 25, 23)).(*image.RGBA)
		got := ResizeBicubic(sub, 9, 9)
		copied := image.NewRGBA(image.Rect(0, 0, 20, 20))
		for y := range 20 {
			for x := range 20 {
				copied.SetRGBA(x, y, m.RGBAAt(x+5, y+3))
			}
		}
		if !bytes.Equal(got.Pix, ResizeBicubic(copied, 9, 9).Pix) {
			t.Error("resizing a sub-image differs from resizing its copy")
		}
	})
}

func TestBicubicWeights(t *testing.T) {
	for _, sz := range [][2]int{{37, 32}, {32, 37}, {1000, 224}, {224, 224}, {5, 1}, {1, 5}} {
		w := filterWeights(sz[0], sz[1], filter{support: 2, kernel: bicubic})
		for i := range w.start {
			if w.start[i] < 0 || w.start[i]+w.count[i] > sz[0] || w.count[i] > w.taps || w.count[i] < 1 {
				t.Fatalf("%v: output %d reads [%d, %d) of %d with %d taps", sz, i, w.start[i], w.start[i]+w.count[i], sz[0], w.taps)
			}
			var sum int64
			for _, k := range w.k[i*w.taps : i*w.taps+w.count[i]] {
				sum += int64(k)
			}
			// Each weight is rounded on its own, so the sum is 1 within
			// half a unit per tap.
			if d := sum - 1<<precisionBits; d > int64(w.taps) || -d > int64(w.taps) {
				t.Fatalf("%v: output %d weights sum to %d, want %d ± %d", sz, i, sum, 1<<precisionBits, w.taps)
			}
		}
	}
}

func TestRGB(t *testing.T) {
	r := image.Rect(0, 0, 2, 1)
	gray16 := image.NewGray16(r)
	gray16.SetGray16(0, 0, color.Gray16{0x12ff})
	gray16.SetGray16(1, 0, color.Gray16{0xff00})
	nrgba := image.NewNRGBA(r)
	nrgba.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0}) // transparent keeps its colour
	nrgba.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 128})
	rgba := image.NewRGBA(r)
	rgba.SetRGBA(0, 0, color.RGBA{10, 20, 30, 255})
	rgba.SetRGBA(1, 0, color.RGBA{50, 50, 50, 128}) // premultiplied
	pal := image.NewPaletted(r, color.Palette{color.NRGBA{1, 2, 3, 0}, color.RGBA{4, 5, 6, 255}})
	pal.SetColorIndex(1, 0, 1)
	cmyk := image.NewCMYK(r)
	cmyk.SetCMYK(0, 0, color.CMYK{0, 0, 0, 0})
	cmyk.SetCMYK(1, 0, color.CMYK{255, 128, 0, 64})
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 128, 128, 128
	ycc.Y[1], ycc.Cb[1], ycc.Cr[1] = 80, 200, 30
	yr, yg, yb := color.YCbCrToRGB(80, 200, 30)
	// PIL: nk − (c·nk + 128 + ((c·nk + 128) >> 8)) >> 8 with nk = 255 − k.
	tests := []struct {
		name string
		img  image.Image
		want [2][3]uint8
	}{
		{"gray16 high byte", gray16, [2][3]uint8{{0x12, 0x12, 0x12}, {0xff, 0xff, 0xff}}},
		{"nrgba drops alpha", nrgba, [2][3]uint8{{10, 20, 30}, {40, 50, 60}}},
		{"rgba unpremultiplies", rgba, [2][3]uint8{{10, 20, 30}, {99, 99, 99}}},
		{"paletted", pal, [2][3]uint8{{1, 2, 3}, {4, 5, 6}}},
		{"cmyk", cmyk, [2][3]uint8{{255, 255, 255}, {0, 95, 191}}},
		{"ycbcr", ycc, [2][3]uint8{{128, 128, 128}, {yr, yg, yb}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RGB(tt.img)
			for x := range 2 {
				c := got.RGBAAt(x, 0)
				if g := [3]uint8{c.R, c.G, c.B}; g != tt.want[x] || c.A != 255 {
					t.Errorf("pixel %d = %v (alpha %d), want %v (alpha 255)", x, g, c.A, tt.want[x])
				}
			}
		})
	}
}

func TestPreprocessBatch(t *testing.T) {
	imgs := []image.Image{numbered(50, 20), numbered(9, 30), numbered(16, 16)}
	for _, tr := range []Transform{ResizeCrop, ResizeSquash} {
		batch := Preprocess(imgs, 16, tr)
		if s := batch.Shape(); len(s) != 4 || s[0] != 3 || s[1] != 3 || s[2] != 16 || s[3] != 16 {
			t.Fatalf("%v: shape %v, want (3, 3, 16, 16)", tr, s)
		}
		for i, img := range imgs {
			want := make([]float32, 3*16*16)
			PreprocessImage(want, img, 16, tr)
			got := batch.Data()[i*len(want) : (i+1)*len(want)]
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%v: image %d value %d = %v, want %v", tr, i, j, got[j], want[j])
				}
			}
		}
	}
}

func TestNormalizeImage(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 2, 1))
	copy(m.Pix, []uint8{0, 128, 255, 255, 255, 0, 1, 255})
	got := make([]float32, 6)
	NormalizeImage(got, m)
	px := [][3]uint8{{0, 128, 255}, {255, 0, 1}}
	for c := range 3 {
		for x := range 2 {
			want := (float32(px[x][c])/255 - ImageMean[c]) / ImageStd[c]
			if g := got[c*2+x]; g != want {
				t.Errorf("channel %d pixel %d = %v, want %v", c, x, g, want)
			}
		}
	}
}

func TestParseTransform(t *testing.T) {
	for _, tr := range []Transform{ResizeCrop, ResizeSquash} {
		got, err := ParseTransform(tr.String())
		if err != nil || got != tr {
			t.Errorf("ParseTransform(%q) = %v, %v; want %v", tr.String(), got, err, tr)
		}
	}
	if _, err := ParseTransform("stretch"); err == nil {
		t.Error("ParseTransform(stretch): no error")
	}
}

func TestDecodeErrors(t *testing.T) {
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, numbered(20, 20)); err != nil {
		t.Fatal(err)
	}
	jpegData, err := os.ReadFile("testdata/preprocess/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error, besides the file name
	}{
		{"empty", nil, "empty file"},
		{"text", []byte("hello, world\n"), "not a JPEG, PNG"},
		{"truncated png", pngData.Bytes()[:pngData.Len()/2], "PNG"},
		{"truncated png header", pngData.Bytes()[:12], "PNG header"},
		{"truncated jpeg", jpegData[:len(jpegData)/2], "JPEG"},
		{"corrupt png", corrupt(pngData.Bytes()), "PNG"},
		{"netpbm truncated", []byte("P6 4 4 255\n\x00\x01"), "unexpected EOF"},
		{"netpbm sample above maxval", []byte("P2 1 1 7 9"), "exceeds maxval"},
		{"huge", []byte("P5 100000 100000 255\n"), "more than the limit"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".img")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadImage(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %s and say %q", err, path, tt.want)
			}
		})
	}
	if _, err := ReadImage(filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing file: error %v, want one naming the file", err)
	}
}

// corrupt flips bytes in the middle of data, inside the compressed pixels.
func corrupt(data []byte) []byte {
	out := bytes.Clone(data)
	for i := len(out) / 2; i < len(out)/2+16; i++ {
		out[i] ^= 0x5a
	}
	return out
}

func TestNetpbm(t *testing.T) {
	tests := []struct {
		name string
		data string
		want [][3]uint8 // pixels in raster order
	}{
		{"P1 plain bitmap", "P1\n# comment\n3 1\n1 0\n1", [][3]uint8{{0, 0, 0}, {255, 255, 255}, {0, 0, 0}}},
		{"P1 without spaces", "P1 3 1 010", [][3]uint8{{255, 255, 255}, {0, 0, 0}, {255, 255, 255}}},
		{"P4 raw bitmap", "P4 3 1\n\xa0", [][3]uint8{{0, 0, 0}, {255, 255, 255}, {0, 0, 0}}},
		{"P2 maxval 100", "P2 2 2 100 0 50 99 100", [][3]uint8{{0, 0, 0}, {128, 128, 128}, {252, 252, 252}, {255, 255, 255}}},
		{"P3", "P3 1 1 255 1 2 3", [][3]uint8{{1, 2, 3}}},
		{"P5 comment in header", "P5 #c\n2 1 255\n\x07\x08", [][3]uint8{{7, 7, 7}, {8, 8, 8}}},
		{"P6 16-bit", "P6 1 1 65535\n\xff\xff\x00\x00\x80\x00", [][3]uint8{{255, 0, 128}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := DecodeImage(strings.NewReader(tt.data), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			m := RGB(img)
			b := m.Bounds()
			var got [][3]uint8
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := m.RGBAAt(x, y)
					got = append(got, [3]uint8{c.R, c.G, c.B})
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkPreprocess(b *testing.B) {
	for _, sz := range [][2]int{{640, 480}, {256, 256}} {
		img := numbered(sz[0], sz[1])
		dst := make([]float32, 3*224*224)
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			for b.Loop() {
				PreprocessImage(dst, img, 224, ResizeCrop)
			}
		})
	}
}
