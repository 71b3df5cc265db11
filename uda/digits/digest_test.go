package digits

import (
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/internal/digesttest"
)

var updateDigests = flag.Bool("update-digests", false, "rewrite testdata/domain-digests.txt with this machine's digests")

// domainDigestFile holds the SHA-256 of small samples of every domain,
// the same on every GOARCH and build.
const domainDigestFile = "testdata/domain-digests.txt"

// domainDigestHeader heads domainDigestFile.
const domainDigestHeader = `SHA-256 of samples of the digit domains (TestDomainDigests), the same on
every GOARCH (arm64 fuses a*b+c unless a product is converted) and build.
Regenerate: go test ./uda/digits -run TestDomainDigests -update-digests`

// datasetSum returns the digest of d's shape, pixels and labels.
func datasetSum(d *Dataset) string {
	b := binary.LittleEndian.AppendUint64(nil, uint64(d.Width))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Height))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.Channels))
	for _, l := range d.Labels {
		b = binary.LittleEndian.AppendUint64(b, uint64(l))
	}
	return digesttest.Sum(b, d.Pixels)
}

// firstN returns the first n images of d (all of them if it has fewer).
func firstN(d *Dataset, n int) *Dataset { return d.Subset(allIndices(min(n, d.Len()))) }

// needFiles skips t when err says that Debian files are not fetched, and
// fails it on any other error.
func needFiles(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrNotFetched) {
		t.Skipf("Debian files not available (%v); fetch them with: %s", err, realFetchCommand)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestDomainDigests builds a small sample of every domain — rendered
// fonts (upright and rotated, Go faces and the Debian ones), the glyph
// geometry they come from, the embedded MNIST subset, MNIST-M blends over
// the real photos, OpenCV's cut sheet, optdigits, and Dataset.Resize up,
// down and across channel counts — and compares the SHA-256 of their bytes
// with domainDigestFile. The cases that need Debian files are skipped
// when those are neither fetched nor installed.
func TestDomainDigests(t *testing.T) {
	file := digesttest.Open(t, domainDigestFile, domainDigestHeader, *updateDigests)
	mnist, err := MNISTSubset(Test)
	if err != nil {
		t.Fatal(err)
	}
	mnist = firstN(mnist, 300)
	cache, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	goFonts := func(o RenderOptions) func(t *testing.T) *Dataset {
		return func(t *testing.T) *Dataset {
			d, err := RenderDigits(GoFaces(), o)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	opencv := func(t *testing.T) *Dataset {
		d, err := LoadOpenCV(cache, Train)
		needFiles(t, err)
		return firstN(d, 300)
	}
	mnistm := func(t *testing.T) *Dataset {
		photos, err := LoadPhotos(cache, MNISTMPool)
		needFiles(t, err)
		return BlendMNISTM(mnist, photos, 3)
	}
	cases := []struct {
		name string
		make func(t *testing.T) *Dataset
	}{
		{"mnist/test300", func(*testing.T) *Dataset { return mnist }},
		{"fonts/go", goFonts(RenderOptions{PerClass: 12, Seed: 1})},
		{"fonts/go-rotated-test", goFonts(RenderOptions{PerClass: 12, Seed: 2, Split: Test, MaxRotation: 25, Jitter: 0.1})},
		{"fonts/go-32px-bigbox", goFonts(RenderOptions{PerClass: 6, Size: 32, Seed: 4, MinBox: 0.7, MaxBox: 0.95, MaxRotation: 10})},
		{"fonts/debian", func(t *testing.T) *Dataset {
			faces, err := DebianFaces(cache)
			needFiles(t, err)
			d, err := RenderDigits(faces, RenderOptions{PerClass: 12, Seed: 5, MaxRotation: 15})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"opencv/train300", opencv},
		{"optdigits", func(t *testing.T) *Dataset {
			d, err := LoadOptdigits(cache)
			needFiles(t, err)
			return firstN(d, 300)
		}},
		{"mnistm/test300", mnistm},
		{"resize/mnist-32x32x3", func(*testing.T) *Dataset { return mnist.Resize(32, 32, 3) }},
		{"resize/mnist-14x20x1", func(*testing.T) *Dataset { return mnist.Resize(14, 20, 1) }},
		{"resize/fonts-24x24x3", func(t *testing.T) *Dataset { return goFonts(RenderOptions{PerClass: 6, Seed: 6})(t).Resize(24, 24, 3) }},
		{"resize/opencv-28x28x1", func(t *testing.T) *Dataset { return opencv(t).Resize(28, 28, 1) }},
		{"resize/mnistm-32x32x3", func(t *testing.T) *Dataset { return mnistm(t).Resize(32, 32, 3) }},
		{"resize/mnistm-20x20x1", func(t *testing.T) *Dataset { return mnistm(t).Resize(20, 20, 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file.Check(t, tc.name, datasetSum(tc.make(t)))
		})
	}
	t.Run("glyphs/go", func(t *testing.T) {
		file.Check(t, "glyphs/go", glyphsSum(t, GoFaces()))
	})
	t.Run("glyphs/debian", func(t *testing.T) {
		faces, err := DebianFaces(cache)
		needFiles(t, err)
		file.Check(t, "glyphs/debian", glyphsSum(t, faces))
	})
}

// glyphsSum returns the digest of the rasterised digits of every face:
// ink box, pixels, centre of mass and side, with a margin of 2.
func glyphsSum(t *testing.T, faces []Face) string {
	t.Helper()
	var b []byte
	for _, f := range faces {
		for d := range 10 {
			g, err := RasterizeGlyph(f, rune('0'+d), 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []int{g.Ink.Rect.Min.X, g.Ink.Rect.Min.Y, g.Ink.Rect.Max.X, g.Ink.Rect.Max.Y} {
				b = binary.LittleEndian.AppendUint64(b, uint64(v))
			}
			for y := g.Ink.Rect.Min.Y; y < g.Ink.Rect.Max.Y; y++ {
				off := g.Ink.PixOffset(g.Ink.Rect.Min.X, y)
				b = append(b, g.Ink.Pix[off:off+g.Ink.Rect.Dx()]...)
			}
			for _, v := range []float64{g.CX, g.CY, g.Side} {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
			}
		}
	}
	return digesttest.Sum(b)
}
