package demo

import (
	"bytes"
	"context"
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
	def, quick := DefaultSettings(), QuickSettings()
	for _, tc := range []struct {
		split digits.Split
		n     int
		holds bool
	}{
		{digits.Train, def.TrainImages, true},
		{digits.Test, def.TestImages, true},
		{digits.Train, quick.TrainImages, true},
		{digits.Test, quick.TestImages, true},
		{digits.Train, 37, true},
		{digits.Train, 10 * digits.MNISTSubsetPerClass(digits.Train), true},
		{digits.Train, 10*digits.MNISTSubsetPerClass(digits.Train) + 1, false},
		{digits.Test, 10*digits.MNISTSubsetPerClass(digits.Test) + 1, false},
		{digits.Test, 0, false},
	} {
		if got := embeddedHolds(tc.split, tc.n); got != tc.holds {
			t.Errorf("embeddedHolds(%s, %d) = %v, want %v", tc.split, tc.n, got, tc.holds)
		}
		d := &domains{opt: digits.Options{MNISTDir: dir}, size: 28, cache: map[domainKey]*digits.Dataset{}}
		got, err := d.load(digits.MNIST, tc.split, tc.n)
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

// TestResolveWithoutGo checks that with neither the go command, nor a module
// cache, nor apt-get, the default and -quick demos still find MNIST (the
// embedded subset) and run fonts→MNIST in place of MNIST→MNIST-M, while a
// demo that needs all of MNIST says how to get it.
func TestResolveWithoutGo(t *testing.T) {
	empty := t.TempDir()
	for _, k := range []string{"PATH", "GOMODCACHE", "GOPATH", "HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, empty)
	}
	for _, tc := range []struct {
		name     string
		settings Settings
		tasks    []Task
		want     []Task
		err      string
	}{
		{"default", DefaultSettings(), []Task{MainTask}, []Task{FallbackTask}, ""},
		{"quick", QuickSettings(), []Task{MainTask}, []Task{FallbackTask}, ""},
		{"fonts->mnist", QuickSettings(), []Task{FallbackTask}, []Task{FallbackTask}, ""},
		{"all of MNIST", Settings{TrainImages: 0, TestImages: 500}, []Task{FallbackTask}, nil, digits.MNISTDownloadCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Tasks: tc.tasks, Settings: tc.settings, Domains: digits.Options{CacheDir: t.TempDir()}}
			err := cfg.resolveTasks(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Tasks, tc.want) {
				t.Errorf("tasks %v, want %v", cfg.Tasks, tc.want)
			}
			d := &domains{opt: cfg.Domains, size: 32, cache: map[domainKey]*digits.Dataset{}}
			for _, split := range []digits.Split{digits.Train, digits.Test} {
				n := tc.settings.TrainImages
				if split == digits.Test {
					n = tc.settings.TestImages
				}
				if ds, err := d.load(digits.MNIST, split, n); err != nil || ds.Len() != n {
					t.Errorf("MNIST %s: %v", split, err)
				}
			}
		})
	}
}

// TestMNISTHeldOutDisjoint checks that the MNIST training images the demo
// trains on (and blends MNIST-M from: domains.load takes MNIST-M's grey
// digits from the same selection) are none of the images held out for the
// teacher's gate (digits.SplitMNISTTrain), both from the embedded subset
// and from MNIST's files, for the default and -quick settings, for counts
// the subset does not hold and for all images. MNIST's 60 000 training
// images are distinct, so an image's bytes give its index.
func TestMNISTHeldOutDisjoint(t *testing.T) {
	dir, err := digits.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	full, err := digits.LoadMNIST(dir, digits.Train)
	if err != nil {
		t.Fatal(err)
	}
	index := make(map[string]int, full.Len())
	for i := range full.Len() {
		index[string(full.Image(i))] = i
	}
	if len(index) != full.Len() {
		t.Fatalf("%d distinct images among %d: bytes do not identify them", len(index), full.Len())
	}
	_, held, err := digits.SplitMNISTTrain(full)
	if err != nil {
		t.Fatal(err)
	}
	heldIdx := map[int]bool{}
	for i := range held.Len() {
		heldIdx[index[string(held.Image(i))]] = true
	}
	if len(heldIdx) != digits.MNISTHeldOut {
		t.Fatalf("the gate holds out %d images, want %d", len(heldIdx), digits.MNISTHeldOut)
	}
	for _, tc := range []struct {
		name     string
		n        int
		embedded bool
	}{
		{"default", DefaultSettings().TrainImages, true},
		{"quick", QuickSettings().TrainImages, true},
		{"more than the subset", 10*digits.MNISTSubsetPerClass(digits.Train) + 1, false},
		{"all but the held-out", digits.MNISTHeldOutStart, false},
		{"all", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &domains{opt: digits.Options{MNISTDir: dir}, size: 28, cache: map[domainKey]*digits.Dataset{}}
			got, err := d.load(digits.MNIST, digits.Train, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if embedded := strings.Contains(got.Sources[0], "embedded"); embedded != tc.embedded {
				t.Errorf("sources %q, want the embedded subset: %v", got.Sources, tc.embedded)
			}
			want := tc.n
			if want == 0 {
				want = digits.MNISTHeldOutStart // all that are not held out
			}
			if got.Len() != want {
				t.Errorf("%d images, want %d", got.Len(), want)
			}
			for j := range got.Len() {
				i, ok := index[string(got.Image(j))]
				if !ok || heldIdx[i] {
					t.Fatalf("image %d of the demo's MNIST is image %d of the training split (found %v), which the gate holds out", j, i, ok)
				}
			}
		})
	}
}
