package demo

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/run"
)

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
			d := run.NewDigitDomains(cfg.Domains, 32)
			for _, split := range []digits.Split{digits.Train, digits.Test} {
				n := tc.settings.TrainImages
				if split == digits.Test {
					n = tc.settings.TestImages
				}
				if ds, err := d.Load(digits.MNIST, split, n); err != nil || ds.Len() != n {
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
			d := run.NewDigitDomains(digits.Options{MNISTDir: dir}, 28)
			got, err := d.Load(digits.MNIST, digits.Train, tc.n)
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
