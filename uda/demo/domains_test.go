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
