package digits

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestMNISTSubset checks that the embedded subset holds, byte for byte,
// the first MNISTSubsetPerClass images of each class of the module
// cache's MNIST, in their order, with their labels.
func TestMNISTSubset(t *testing.T) {
	dir := mnistDir(t)
	for _, split := range []Split{Train, Test} {
		t.Run(string(split), func(t *testing.T) {
			full, err := LoadMNIST(dir, split)
			if err != nil {
				t.Fatal(err)
			}
			k := MNISTSubsetPerClass(split)
			var idx []int
			taken := make([]int, len(Classes))
			for i, y := range full.Labels {
				if taken[y] < k {
					taken[y]++
					idx = append(idx, i)
				}
			}
			if split == Train && idx[len(idx)-1] >= MNISTHeldOutStart {
				t.Errorf("the subset reaches image %d of the training split, into the held-out part from %d", idx[len(idx)-1], MNISTHeldOutStart)
			}
			want := full.Subset(idx)
			got, err := MNISTSubset(split)
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != len(Classes)*k || slices.Max(got.ClassCounts()) != k || slices.Min(got.ClassCounts()) != k {
				t.Fatalf("class counts %v, want %d each (regenerate with go generate)", got.ClassCounts(), k)
			}
			if got.Width != want.Width || got.Height != want.Height || got.Channels != want.Channels ||
				!bytes.Equal(got.Pixels, want.Pixels) || !slices.Equal(got.Labels, want.Labels) {
				t.Errorf("the embedded subset differs from the first %d images per class of %s", k, dir)
			}
			if got.Name != MNIST || got.Split != split || !strings.Contains(got.Sources[0], "embedded") {
				t.Errorf("name %q split %q sources %q", got.Name, got.Split, got.Sources)
			}
		})
	}
}

func TestMNISTSubsetNoSplit(t *testing.T) {
	for _, split := range []Split{All, "validation"} {
		if _, err := MNISTSubset(split); err == nil || !strings.Contains(err.Error(), string(split)) {
			t.Errorf("%s: got %v, want an error naming the split", split, err)
		}
		if n := MNISTSubsetPerClass(split); n != 0 {
			t.Errorf("%s: %d images per class, want 0", split, n)
		}
	}
}
