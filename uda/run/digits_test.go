package run

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda/digits"
)

// TestEmbeddedMNIST checks that the demo's MNIST images are, byte for
// byte, the ones it took from the module cache's MNIST before the subset
// was embedded, for the default and -quick settings and for counts the
// subset holds only in part or not at all.
func TestEmbeddedMNIST(t *testing.T) {
	dir, err := digits.MNISTDir()
	if err != nil {
		t.Fatal(err) // go.mod requires GoMNIST: `go test` has downloaded it
	}
	for _, tc := range []struct {
		split digits.Split
		n     int
		holds bool
	}{
		{digits.Train, 20000, true}, // the demo's default and -quick counts
		{digits.Test, 2000, true},
		{digits.Train, 4000, true},
		{digits.Test, 500, true},
		{digits.Train, 37, true},
		{digits.Train, 10 * digits.MNISTSubsetPerClass(digits.Train), true},
		{digits.Train, 10*digits.MNISTSubsetPerClass(digits.Train) + 1, false},
		{digits.Test, 10*digits.MNISTSubsetPerClass(digits.Test) + 1, false},
		{digits.Test, 0, false},
	} {
		if got := DigitsEmbedded(tc.split, tc.n); got != tc.holds {
			t.Errorf("DigitsEmbedded(%s, %d) = %v, want %v", tc.split, tc.n, got, tc.holds)
		}
		d := NewDigitDomains(digits.Options{MNISTDir: dir}, 28)
		got, err := d.Load(digits.MNIST, tc.split, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		full, err := digits.LoadMNIST(dir, tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if tc.split == digits.Train {
			if full, _, err = digits.SplitMNISTTrain(full); err != nil {
				t.Fatal(err)
			}
		}
		want := spread(full, tc.n)
		if !bytes.Equal(got.Pixels, want.Pixels) || !slices.Equal(got.Labels, want.Labels) {
			t.Errorf("%s, %d images: the demo's MNIST differs from the module cache's", tc.split, tc.n)
		}
		if embedded := strings.Contains(got.Sources[0], "embedded"); embedded != tc.holds {
			t.Errorf("%s, %d images: sources %q, want the embedded subset: %v", tc.split, tc.n, got.Sources, tc.holds)
		}
	}
}
