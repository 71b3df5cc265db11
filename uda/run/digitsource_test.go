package run

import (
	"math"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/uda/digits"
)

// fontDigits renders n Go-font digits of size×size per class.
func fontDigits(t *testing.T, perClass, size int, split digits.Split) *digits.Dataset {
	t.Helper()
	d, err := digits.RenderDigits(digits.GoFaces(), digits.RenderOptions{PerClass: perClass, Size: size, Seed: 3, Split: split})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestNormalize checks the teacher's normalisation: every image has mean
// 0 and standard deviation 1 over its 3·H·W values, and a grey image
// fills the three planes alike.
func TestNormalize(t *testing.T) {
	d := fontDigits(t, 2, 32, digits.Test)
	set := digitTestSet(d, 32)
	b, err := set.Batch(0, d.Len())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Images.Shape(), []int{d.Len(), 3, 32, 32}; !slices.Equal(got, want) {
		t.Fatalf("shape %v, want %v", got, want)
	}
	if !slices.Equal(b.Labels, d.Labels) {
		t.Errorf("labels %v, want %v", b.Labels, d.Labels)
	}
	x := b.Images.Data()
	per := 3 * 32 * 32
	for i := range d.Len() {
		img := x[i*per : (i+1)*per]
		var s, ss float64
		for _, v := range img {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		mean := s / float64(per)
		sd := math.Sqrt(ss/float64(per) - mean*mean)
		if math.Abs(mean) > 1e-4 || math.Abs(sd-1) > 1e-3 {
			t.Errorf("image %d: mean %.5f, std %.5f; want 0 and 1", i, mean, sd)
		}
		plane := 32 * 32
		if !slices.Equal(img[:plane], img[plane:2*plane]) || !slices.Equal(img[:plane], img[2*plane:]) {
			t.Errorf("image %d: grey image with different planes", i)
		}
	}
}

// TestStream checks the training stream: shapes, labels from the data,
// the same batches for the same seed and after Restore, other batches for
// another seed, and strong views that differ from the weak ones.
func TestStream(t *testing.T) {
	d := fontDigits(t, 3, 32, digits.Train)
	cfg := digitStreamConfig{Batch: 8, Seed: 5, Size: 32, Strong: digitStrongTransform(32)}
	draw := func(s *digitStream, n int) [][]float32 {
		var out [][]float32
		for range n {
			b, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := b.Images.Shape(), []int{8, 3, 32, 32}; !slices.Equal(got, want) {
				t.Fatalf("shape %v, want %v", got, want)
			}
			if b.Strong == nil || slices.Equal(b.Strong.Data(), b.Images.Data()) {
				t.Fatal("no strong views, or strong views equal to the weak ones")
			}
			for _, y := range b.Labels {
				if y < 0 || y > 9 {
					t.Fatalf("label %d", y)
				}
			}
			out = append(out, append(slices.Clone(b.Images.Data()), b.Strong.Data()...))
		}
		return out
	}
	a, _ := newDigitStream(d, cfg)
	want := draw(a, 6) // 30 images: the fourth batch starts a new pass
	b, _ := newDigitStream(d, cfg)
	if got := draw(b, 6); !equalBatches(got, want) {
		t.Error("the same seed gave different batches")
	}
	c, _ := newDigitStream(d, cfg)
	draw(c, 2)
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newDigitStream(d, cfg)
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	if got := draw(r, 4); !equalBatches(got, want[2:]) {
		t.Error("a restored stream did not continue with the same batches")
	}
	other := cfg
	other.Seed = 6
	o, _ := newDigitStream(d, other)
	if got := draw(o, 1); equalBatches(got, want[:1]) {
		t.Error("another seed gave the same batch")
	}
	if _, err := newDigitStream(d.Subset([]int{0, 1}), cfg); err == nil {
		t.Error("a stream of 2 images in batches of 8: no error")
	}
}

func equalBatches(a, b [][]float32) bool {
	return slices.EqualFunc(a, b, func(x, y []float32) bool { return slices.Equal(x, y) })
}

// TestSpread checks that subsets take images from the whole split.
func TestSpread(t *testing.T) {
	d := fontDigits(t, 4, 28, digits.Test) // ordered by class
	s := spread(d, 10)
	if got := s.ClassCounts(); !slices.Equal(got, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("class counts %v, want one image of each class", got)
	}
	if spread(d, 0) != d || spread(d, 1000) != d {
		t.Error("spread of 0 or of more than all images is not the dataset")
	}
}
