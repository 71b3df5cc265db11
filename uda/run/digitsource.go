package run

import (
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/vlp"
)

// teacherNormalize writes img (size×size) into dst (3·size·size values, CHW) as
// the mini-CLIP teacher expects it: per-image standardisation
// (pretrain.Standardize), not CLIP's fixed mean and standard deviation.
// It has the signature of uda.NewImageSet's norm.
func teacherNormalize(dst []float32, img *image.RGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := make([]uint8, 0, 3*w*h)
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			pix = append(pix, row[x], row[x+1], row[x+2])
		}
	}
	pretrain.Standardize(dst, pix, w, h, 3)
}

// digitTrainTransform is the training view of a digit (and FixMatch's weak
// view): the paper's digits recipe, RandomResizedCrop(size, scale (0.75,
// 1.2), ratio (3/4, 4/3)) (spec §2.4). It does not flip: a mirrored digit
// is another glyph or none.
func digitTrainTransform(size int) augment.Transform {
	r, err := augment.ForBenchmark("digits", size)
	if err != nil {
		panic("run: digitTrainTransform: " + err.Error())
	}
	return r.Train
}

// digitStrongTransform is FixMatch's strong view of a digit: the paper's
// strong view (spec §1.6) without its horizontal flip, as FixMatch itself
// does for digits: Resize to the pre-crop size, centre crop, colour jitter
// (0.4, 0.4, 0.4, 0) and RandAugment rand-n2-m10-mstd0.5.
func digitStrongTransform(size int) augment.Transform {
	pre := augment.PreCropSize(size)
	return augment.Compose{
		augment.Resize{Width: pre, Height: pre},
		augment.CenterCrop{Width: size, Height: size},
		augment.ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4},
		augment.FixMatchRandAugment(),
	}
}

// digitImages adapts a digits.Dataset to data.Source, the indexed set of
// labelled images that uda.NewImageSet reads.
type digitImages struct{ D *digits.Dataset }

// Len returns the number of images.
func (s digitImages) Len() int { return s.D.Len() }

// Label returns the class of image i.
func (s digitImages) Label(i int) int { return s.D.Labels[i] }

// Image returns image i; it never fails.
func (s digitImages) Image(i int) (image.Image, error) { return s.D.ImageAt(i), nil }

// digitTestSet returns the evaluation set of d for a teacher taking size×size
// images: d must already be at that size (digits.Dataset.Resize), and
// every image is normalised by teacherNormalize, unaugmented.
func digitTestSet(d *digits.Dataset, size int) uda.EvalSet {
	checkSize("digitTestSet", d, size)
	return uda.NewImageSet(digitImages{d}, size, augment.Compose{}, teacherNormalize)
}

// checkSize panics unless d holds size×size images.
func checkSize(op string, d *digits.Dataset, size int) {
	if d.Width != size || d.Height != size {
		panic(fmt.Sprintf("run: %s: %s images are %dx%d, the model takes %dx%d (resize them first)", op, d.Name, d.Width, d.Height, size, size))
	}
}

// digitStreamConfig configures a digitStream.
type digitStreamConfig struct {
	// Batch is the number of images per batch.
	Batch int
	// Seed selects the shuffling and the augmentations; the source and
	// the target stream of a run need different seeds.
	Seed uint64
	// Size is the model's image side; the dataset must be at that size.
	Size int
	// Weak makes the training view (nil: digitTrainTransform(Size)). Strong,
	// if not nil, makes FixMatch's strong view as well.
	Weak, Strong augment.Transform
}

// digitStream is the uda.Source of a digit domain held in memory: an infinite
// shuffling sampler (data.RandomSampler: a fresh permutation each pass,
// the remainder of a pass dropped) draws the images of each batch, and
// each image is augmented and normalised (teacherNormalize) in parallel.
//
// Sample k of a batch at (pass, position p) draws its augmentation from a
// generator keyed by the seed, the view, the pass and p+k, so a batch
// depends only on the seed and the sampler's state: State is that state,
// and a restored digitStream continues with exactly the batches an
// uninterrupted one draws, whatever the number of threads.
type digitStream struct {
	d       *digits.Dataset
	cfg     digitStreamConfig
	sampler *data.RandomSampler
}

// newDigitStream returns a digitStream over d at the start of its first pass. It
// fails if d has fewer images than one batch.
func newDigitStream(d *digits.Dataset, cfg digitStreamConfig) (*digitStream, error) {
	checkSize("newDigitStream", d, cfg.Size)
	if cfg.Weak == nil {
		cfg.Weak = digitTrainTransform(cfg.Size)
	}
	s, err := data.NewRandomSampler(d.Len(), cfg.Batch, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("run: %s: %w", d.Name, err)
	}
	return &digitStream{d: d, cfg: cfg, sampler: s}, nil
}

// The views a per-sample generator is keyed by.
const (
	viewWeak = iota + 1
	viewStrong
)

// sampleRand returns the generator of one view of the sample at (pass,
// pos) of the sampler's order.
func sampleRand(seed uint64, view, pass, pos int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^mix(uint64(view))), mix(uint64(pass)<<32^uint64(pos))))
}

// mix is splitmix64's finaliser: it spreads nearby seeds apart.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Next implements uda.Source. Labels are filled for source and target
// alike; training never reads the target's.
func (s *digitStream) Next() (uda.Batch, error) {
	draw, _ := s.sampler.Next()
	n, size := len(draw.Index), s.cfg.Size
	per := 3 * size * size
	weak := make([]float32, n*per)
	var strong []float32
	if s.cfg.Strong != nil {
		strong = make([]float32, n*per)
	}
	labels := make([]int, n)
	kernels.ParallelFor(n, 4, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			idx := draw.Index[k]
			labels[k] = s.d.Labels[idx]
			img := vlp.RGB(s.d.ImageAt(idx))
			teacherNormalize(weak[k*per:(k+1)*per], s.view(s.cfg.Weak, img, viewWeak, draw.Pass, draw.Pos+k))
			if strong != nil {
				teacherNormalize(strong[k*per:(k+1)*per], s.view(s.cfg.Strong, img, viewStrong, draw.Pass, draw.Pos+k))
			}
		}
	})
	b := uda.Batch{Images: tensor.New(weak, n, 3, size, size), Labels: labels}
	if strong != nil {
		b.Strong = tensor.New(strong, n, 3, size, size)
	}
	return b, nil
}

// view applies t to img with the sample's generator and checks the size.
func (s *digitStream) view(t augment.Transform, img *image.RGBA, view, pass, pos int) *image.RGBA {
	out := t.Apply(img, sampleRand(s.cfg.Seed, view, pass, pos))
	if b := out.Bounds(); b.Dx() != s.cfg.Size || b.Dy() != s.cfg.Size {
		panic(fmt.Sprintf("run: digitStream: %v makes %dx%d images, the model takes %dx%d", t, b.Dx(), b.Dy(), s.cfg.Size, s.cfg.Size))
	}
	return out
}

// State implements uda.Source: the sampler's state as JSON.
func (s *digitStream) State() ([]byte, error) { return json.Marshal(s.sampler.State()) }

// Restore implements uda.Source.
func (s *digitStream) Restore(state []byte) error {
	var st data.SamplerState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("run: stream %s: restore: %w", s.d.Name, err)
	}
	if err := s.sampler.Restore(st); err != nil {
		return fmt.Errorf("run: stream %s: restore: %w", s.d.Name, err)
	}
	return nil
}
