package pretrain

import (
	"encoding/binary"
	"errors"
	"flag"
	"testing"

	"github.com/vlpuda/vlpuda/internal/digesttest"
	"github.com/vlpuda/vlpuda/uda/digits"
)

var updateDigests = flag.Bool("update-digests", false, "rewrite testdata/corpus-digests.txt with this machine's digests")

// corpusDigestFile holds the SHA-256 of corpus samples, the same on every
// GOARCH and build.
const corpusDigestFile = "testdata/corpus-digests.txt"

// corpusDigestHeader heads corpusDigestFile.
const corpusDigestHeader = `SHA-256 of pretraining corpus samples (TestCorpusDigests), the same on
every GOARCH (arm64 fuses a*b+c unless a product is converted) and build.
Regenerate: go test ./uda/pretrain -run TestCorpusDigests -update-digests`

// samplesSum returns the digest of samples first to first+n-1 of c:
// pixels, label, caption and face of each.
func samplesSum(c *Corpus, first, n int, attrShare float64) string {
	samples := make([]Sample, n)
	c.Fill(samples, first, attrShare)
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint64(b, uint64(s.Label))
		b = append(b, s.Caption...)
		b = append(b, 0)
		b = append(b, s.Face...)
		b = append(b, 0)
		b = append(b, s.Pixels...)
	}
	return digesttest.Sum(b)
}

// TestCorpusDigests renders corpus samples — Go faces on flat and
// gradient backgrounds; the Debian faces and the corpus photos where they
// are fetched; the held-out digits the gate renders — and compares their
// SHA-256 with corpusDigestFile.
func TestCorpusDigests(t *testing.T) {
	file := digesttest.Open(t, corpusDigestFile, corpusDigestHeader, *updateDigests)
	cache, err := digits.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	photos := func(t *testing.T) []digits.Photo {
		ps, err := digits.LoadPhotos(cache, digits.CorpusPool)
		if errors.Is(err, digits.ErrNotFetched) {
			t.Skipf("corpus photos not fetched (%v); fetch them with: go run ./cmd/vlpuda fetch", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	debianFaces := func(t *testing.T) []digits.Face {
		faces, err := digits.DebianFaces(cache)
		if errors.Is(err, digits.ErrNotFetched) {
			t.Skipf("Debian faces not fetched (%v); fetch them with: go run ./cmd/vlpuda fetch", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return faces
	}
	cases := []struct {
		name  string
		opts  func(t *testing.T) CorpusOptions
		first int
		n     int
	}{
		{"go-faces", func(*testing.T) CorpusOptions { return CorpusOptions{Seed: 1} }, 0, 80},
		{"go-faces-24px-digits-heldout", func(*testing.T) CorpusOptions {
			return CorpusOptions{Size: 24, Seed: 2, DigitsOnly: true, HeldOut: true}
		}, 1000, 40},
		{"photos", func(t *testing.T) CorpusOptions { return CorpusOptions{Seed: 3, Photos: photos(t)} }, 0, 80},
		{"debian-faces-photos", func(t *testing.T) CorpusOptions {
			return CorpusOptions{Seed: 4, Faces: debianFaces(t), Photos: photos(t), DigitShare: 0.6}
		}, 500, 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts(t)
			if o.Faces == nil {
				o.Faces = digits.GoFaces()
			}
			c, err := NewCorpus(o)
			if err != nil {
				t.Fatal(err)
			}
			file.Check(t, tc.name, samplesSum(c, tc.first, tc.n, 0.5))
		})
	}
}
