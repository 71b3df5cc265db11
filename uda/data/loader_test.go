package data

import (
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/vlp"
)

// pngTree writes an image folder of noise PNGs under root: for each class
// name, n images of w×h pixels. It returns the folder's Dataset.
func pngTree(t testing.TB, root string, classes []string, n, w, h int) *Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range classes {
		if err := os.MkdirAll(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			m := image.NewRGBA(image.Rect(0, 0, w, h))
			for j := range m.Pix {
				m.Pix[j] = uint8(r.IntN(256))
				if j%4 == 3 {
					m.Pix[j] = 255
				}
			}
			f, err := os.Create(filepath.Join(root, c, string(rune('a'+i))+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, m); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	d, _, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testTransform is a small random pipeline that makes 12×12 images.
var testTransform = augment.Compose{augment.Resize{Width: 16, Height: 16}, augment.RandomCrop{Width: 12, Height: 12}, augment.HorizontalFlip{P: 0.5}}

var testStrong = augment.Compose{augment.Resize{Width: 12, Height: 12}, augment.RandAugment{N: 2, M: 9, MStd: 0.5, Fill: augment.CLIPFill}}

// collect reads n batches (all, if n < 0) and closes the loader.
func collect(t *testing.T, l *Loader, n int) []*Batch {
	t.Helper()
	defer l.Close()
	var out []*Batch
	for n < 0 || len(out) < n {
		b, err := l.Next()
		if errors.Is(err, io.EOF) && n < 0 {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func sameBatches(t *testing.T, a, b []*Batch) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d batches against %d", len(a), len(b))
	}
	for i := range a {
		if !slices.Equal(a[i].Indices, b[i].Indices) || !slices.Equal(a[i].Labels, b[i].Labels) || a[i].State != b[i].State {
			t.Fatalf("batch %d: indices %v labels %v, against %v %v", i, a[i].Indices, a[i].Labels, b[i].Indices, b[i].Labels)
		}
		if !slices.Equal(a[i].Images.Data(), b[i].Images.Data()) {
			t.Fatalf("batch %d: images differ", i)
		}
		if (a[i].Strong == nil) != (b[i].Strong == nil) || a[i].Strong != nil && !slices.Equal(a[i].Strong.Data(), b[i].Strong.Data()) {
			t.Fatalf("batch %d: strong views differ", i)
		}
	}
}

// TestLoaderWorkers: the batches are the same whatever the number of
// workers and the prefetch depth.
func TestLoaderWorkers(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"cat", "dog", "emu"}, 4, 20, 14)
	run := func(workers, prefetch int) []*Batch {
		s, err := NewRandomSampler(ds.Len(), 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLoader(context.Background(), ds, s, LoaderConfig{
			Transform: testTransform, Strong: testStrong, Size: 12, Seed: 9, Workers: workers, Prefetch: prefetch,
		})
		if err != nil {
			t.Fatal(err)
		}
		return collect(t, l, 6) // three passes of two batches
	}
	one := run(1, 1)
	sameBatches(t, one, run(4, 3))
	sameBatches(t, one, run(3, 1))
	for _, b := range one {
		if got := b.Images.Shape(); !slices.Equal(got, []int{5, 3, 12, 12}) {
			t.Fatalf("images shape %v", got)
		}
		if got := b.Strong.Shape(); !slices.Equal(got, []int{5, 3, 12, 12}) {
			t.Fatalf("strong shape %v", got)
		}
		for k, idx := range b.Indices {
			if b.Labels[k] != ds.Samples[idx].Label {
				t.Errorf("label %d of image %d, want %d", b.Labels[k], idx, ds.Samples[idx].Label)
			}
		}
	}
	if one[0].Pass != 0 || one[2].Pass != 1 || one[5].Pass != 2 {
		t.Errorf("passes %d %d %d, want 0 1 2", one[0].Pass, one[2].Pass, one[5].Pass)
	}
	// The weak and strong views of a sample differ, and so do two passes'
	// augmentations of the same image.
	if slices.Equal(one[0].Images.Data(), one[0].Strong.Data()) {
		t.Error("strong view equals the weak view")
	}
}

func TestLoaderSeeds(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"a", "b"}, 3, 20, 14)
	images := func(seed uint64) []float32 {
		l, err := NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 6), LoaderConfig{Transform: testTransform, Size: 12, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return collect(t, l, 1)[0].Images.Data()
	}
	if !slices.Equal(images(1), images(1)) {
		t.Error("equal seeds differ")
	}
	if slices.Equal(images(1), images(2)) {
		t.Error("different seeds give equal augmentations")
	}
}

// TestLoaderResume: a loader whose sampler is restored to a batch's State
// continues with the same batches, augmentations included.
func TestLoaderResume(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"a", "b", "c"}, 3, 20, 14)
	cfg := LoaderConfig{Transform: testTransform, Strong: testStrong, Size: 12, Seed: 5, Workers: 2}
	s, _ := NewRandomSampler(ds.Len(), 4, 8)
	l, err := NewLoader(context.Background(), ds, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := collect(t, l, 7)
	s2, _ := NewRandomSampler(ds.Len(), 4, 8)
	if err := s2.Restore(all[2].State); err != nil { // mid-pass: 2 batches per pass
		t.Fatal(err)
	}
	l2, err := NewLoader(context.Background(), ds, s2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sameBatches(t, all[3:], collect(t, l2, 4))
}

func TestLoaderSequential(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"a", "b"}, 5, 12, 12)
	l, err := NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 4), LoaderConfig{Transform: augment.Compose{}, Size: 12})
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l, -1)
	var idx []int
	for _, b := range batches {
		idx = append(idx, b.Indices...)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(idx, want) || len(batches) != 3 {
		t.Errorf("%d batches of indices %v, want 3 of %v", len(batches), idx, want)
	}
	if _, err := l.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
	// The identity transform normalises the decoded pixels exactly.
	img, err := ds.Image(9)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 3*12*12)
	vlp.NormalizeImage(want, vlp.RGB(img))
	last := batches[2]
	if got := last.Images.Data()[1*3*12*12:]; !slices.Equal(got, want) {
		t.Error("image 9 is not its normalised pixels")
	}
	if v := want[0]; math.IsNaN(float64(v)) || v < -3 || v > 3 {
		t.Errorf("normalised value %v", v)
	}
}

// corruptTree writes an image folder with one truncated PNG.
func corruptTree(t *testing.T) (*Dataset, string) {
	root := t.TempDir()
	pngTree(t, root, []string{"a", "b"}, 3, 12, 12)
	bad := filepath.Join(root, "a", "b.png")
	if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\ntruncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, _, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	return ds, bad
}

func TestLoaderSkipCorrupt(t *testing.T) {
	ds, bad := corruptTree(t) // image 1 is corrupt
	cfg := LoaderConfig{Transform: augment.Compose{}, Size: 12, OnError: SkipOnError, Workers: 3}
	l, err := NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 4), cfg)
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l, -1)
	if len(batches) != 2 || !slices.Equal(batches[0].Indices, []int{0, 2, 3}) || batches[0].Skipped != 1 ||
		batches[0].Images.Dim(0) != 3 || !slices.Equal(batches[1].Indices, []int{4, 5}) || batches[1].Skipped != 0 {
		t.Fatalf("batches %v %v, skipped %d %d", batches[0].Indices, batches[1].Indices, batches[0].Skipped, batches[1].Skipped)
	}
	count, errs := l.Skips()
	if count != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), bad) {
		t.Errorf("skips %d, %v; want 1 naming %s", count, errs, bad)
	}
	// Drawn in every pass, the image is counted every time but listed once.
	s, _ := NewRandomSampler(ds.Len(), 6, 1)
	l, err = NewLoader(context.Background(), ds, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range collect(t, l, 3) {
		if b.Skipped != 1 || len(b.Indices) != 5 || slices.Contains(b.Indices, 1) {
			t.Errorf("batch %v skipped %d", b.Indices, b.Skipped)
		}
	}
	if count, errs := l.Skips(); count != 3 || len(errs) != 1 {
		t.Errorf("skips %d, %d distinct; want 3, 1", count, len(errs))
	}
	// A batch of only bad images is left out.
	l, err = NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(collect(t, l, -1)); n != 5 {
		t.Errorf("%d batches of one, want 5", n)
	}
}

func TestLoaderFailCorrupt(t *testing.T) {
	ds, bad := corruptTree(t)
	l, err := NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 4), LoaderConfig{Transform: augment.Compose{}, Size: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Next()
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "image 1") {
		t.Fatalf("error %v, want one naming image 1, %s", err, bad)
	}
	if _, again := l.Next(); again != err {
		t.Errorf("second Next: %v, want the same error", again)
	}
}

func TestLoaderBadTransform(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"a"}, 2, 12, 12)
	for _, policy := range []ErrorPolicy{FailOnError, SkipOnError} {
		l, err := NewLoader(context.Background(), ds, NewSequentialSampler(2, 2), LoaderConfig{Transform: augment.Resize{Width: 10, Height: 12}, Size: 12, OnError: policy})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Next(); err == nil || !strings.Contains(err.Error(), "10x12 image, want 12x12") {
			t.Errorf("policy %d: error %v", policy, err)
		}
		l.Close()
	}
	for _, cfg := range []LoaderConfig{{Size: 12}, {Transform: augment.Compose{}}, {Transform: augment.Compose{}, Size: 1, OnError: 7}} {
		if _, err := NewLoader(context.Background(), ds, NewSequentialSampler(2, 2), cfg); err == nil {
			t.Errorf("config %+v: no error", cfg)
		}
	}
}

// goroutinesSettle waits until at most n goroutines run, reporting whether
// they did within a second.
func goroutinesSettle(n int) bool {
	for range 100 {
		if runtime.NumGoroutine() <= n {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestLoaderCloseAndCancel(t *testing.T) {
	ds := pngTree(t, t.TempDir(), []string{"a", "b"}, 4, 20, 14)
	base := runtime.NumGoroutine()
	cfg := LoaderConfig{Transform: testTransform, Strong: testStrong, Size: 12, Workers: 4, Prefetch: 3}

	// Close with full prefetch queues, without reading a batch.
	s, _ := NewRandomSampler(ds.Len(), 3, 1)
	l, err := NewLoader(context.Background(), ds, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the queues fill
	l.Close()
	l.Close()
	if _, err := l.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
	if !goroutinesSettle(base) {
		t.Errorf("%d goroutines after Close, %d before", runtime.NumGoroutine(), base)
	}

	// Cancelling the context ends Next with its error.
	ctx, cancel := context.WithCancel(context.Background())
	s, _ = NewRandomSampler(ds.Len(), 3, 1)
	l, err = NewLoader(ctx, ds, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := l.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v, want context.Canceled", err)
	}
	l.Close()
	if !goroutinesSettle(base) {
		t.Errorf("%d goroutines after cancel and Close, %d before", runtime.NumGoroutine(), base)
	}

	// A finite loader read to the end, then closed.
	l, err = NewLoader(context.Background(), ds, NewSequentialSampler(ds.Len(), 3), cfg)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, l, -1)
	if !goroutinesSettle(base) {
		t.Errorf("%d goroutines after the end, %d before", runtime.NumGoroutine(), base)
	}
}

// BenchmarkLoader measures a loader's throughput in images/s: 96×72 PNGs
// decoded, resized, cropped and flipped to 56×56, with a RandAugment strong
// view, in batches of 16 on GOMAXPROCS workers.
func BenchmarkLoader(b *testing.B) {
	ds := pngTree(b, b.TempDir(), []string{"a", "b", "c", "d"}, 16, 96, 72)
	const batch = 16
	s, err := NewRandomSampler(ds.Len(), batch, 1)
	if err != nil {
		b.Fatal(err)
	}
	weak := augment.Compose{augment.Resize{Width: 64, Height: 64}, augment.RandomCrop{Width: 56, Height: 56}, augment.HorizontalFlip{P: 0.5}}
	strong := augment.Compose{augment.Resize{Width: 56, Height: 56}, augment.RandAugment{N: 2, M: 9, MStd: 0.5, Fill: augment.CLIPFill}}
	l, err := NewLoader(context.Background(), ds, s, LoaderConfig{Transform: weak, Strong: strong, Size: 56, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for range b.N {
		if _, err := l.Next(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
}
