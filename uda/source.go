package uda

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/vlp"
)

// Batch is one batch of preprocessed images, ready for the image tower.
type Batch struct {
	// Images are the training (for a target batch: weak) views, or the
	// test views of an evaluation batch, (B, 3, R, R), normalised.
	Images *tensor.Tensor
	// Strong holds FixMatch's strong views of the same images, (B, 3, R,
	// R), or nil when the source makes none.
	Strong *tensor.Tensor
	// Labels are the images' classes. Training never reads a target
	// batch's labels.
	Labels []int
}

// Source is an endless stream of training batches, such as a domain's
// images drawn by an infinite shuffling sampler. Given its seed, the
// batches a Source returns depend only on its state, so that a run that
// restores the state continues with exactly the batches an uninterrupted
// run would have drawn.
type Source interface {
	// Next returns the next batch. An error (an unreadable image) stops
	// training.
	Next() (Batch, error)
	// State returns what the following batches depend on, for a
	// checkpoint.
	State() ([]byte, error)
	// Restore returns the source to a state returned by State of a source
	// built the same way.
	Restore(state []byte) error
}

// EvalSet is a labelled test set read in order, batch by batch.
type EvalSet interface {
	// Len returns the number of images.
	Len() int
	// Batch returns images lo to hi−1 with their labels, in their test
	// views. Strong is nil.
	Batch(lo, hi int) (Batch, error)
}

// MemoryImages returns decoded images with their labels as a data.Source
// (for tests, and for domains built in memory such as package digits').
// It fails if the lengths differ or there are no images.
func MemoryImages(imgs []image.Image, labels []int) (data.Source, error) {
	if len(imgs) != len(labels) {
		return nil, fmt.Errorf("uda: memory images: %d images and %d labels", len(imgs), len(labels))
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("uda: memory images: no images")
	}
	return memoryImages{imgs, labels}, nil
}

type memoryImages struct {
	imgs   []image.Image
	labels []int
}

func (m memoryImages) Len() int                         { return len(m.imgs) }
func (m memoryImages) Image(i int) (image.Image, error) { return m.imgs[i], nil }
func (m memoryImages) Label(i int) int                  { return m.labels[i] }

// StreamConfig configures a LoaderSource.
type StreamConfig struct {
	// Batch is the number of images per batch.
	Batch int
	// Seed selects the shuffling and the augmentations. The source and
	// the target stream of a run need different seeds.
	Seed uint64
	// Size is the side of the square images the model takes
	// (vlp.Config.ImageResolution).
	Size int
	// Transform makes the training view (FixMatch's weak view) of an
	// image, Size×Size; see augment.ForBenchmark.
	Transform augment.Transform
	// Strong, if not nil, makes FixMatch's strong view as well.
	Strong augment.Transform
	// Workers and Prefetch are the data.Loader's: decoding goroutines
	// (0: GOMAXPROCS) and batches prepared ahead (0: 2).
	Workers, Prefetch int
	// Domain names the images in errors: "source" or "target"; "" means
	// "images".
	Domain string
}

// LoaderSource is the Source of a set of images (an image folder, a list
// file, or images in memory): a data.RandomSampler draws batches forever,
// as the paper's infinite loaders do (each pass a fresh permutation, the
// rest of a pass that does not fill a batch dropped), and a data.Loader
// decodes and augments them in parallel, a few batches ahead.
//
// A batch depends only on the seed and the sampler's state, not on the
// number of workers, so State is the sampler's state after the last batch
// returned, and Restore starts a new loader from it. An image that cannot
// be read stops training with an error naming it (data.FailOnError).
//
// Close stops the loader's goroutines.
type LoaderSource struct {
	imgs   data.Source
	cfg    StreamConfig
	loader *data.Loader
	state  data.SamplerState // after the last batch returned
}

// NewLoaderSource returns a LoaderSource over imgs at the start of its
// first pass. It fails if there are fewer images than one batch.
func NewLoaderSource(imgs data.Source, cfg StreamConfig) (*LoaderSource, error) {
	s := &LoaderSource{imgs: imgs, cfg: cfg}
	sampler, err := data.NewRandomSampler(imgs.Len(), cfg.Batch, cfg.Seed)
	if err != nil {
		return nil, s.errorf("%w", err)
	}
	if err := s.start(sampler); err != nil {
		return nil, err
	}
	return s, nil
}

// start replaces the loader with one that reads the batches sampler draws.
func (s *LoaderSource) start(sampler *data.RandomSampler) error {
	state := sampler.State() // the loader's goroutine owns the sampler from here on
	l, err := data.NewLoader(context.Background(), s.imgs, sampler, data.LoaderConfig{
		Transform: s.cfg.Transform, Strong: s.cfg.Strong, Size: s.cfg.Size, Seed: s.cfg.Seed,
		Workers: s.cfg.Workers, Prefetch: s.cfg.Prefetch,
	})
	if err != nil {
		return s.errorf("%w", err)
	}
	if s.loader != nil {
		s.loader.Close()
	}
	s.loader, s.state = l, state
	return nil
}

// BatchesPerPass returns the number of batches in one pass over the
// images, ⌊N/Batch⌋.
func (s *LoaderSource) BatchesPerPass() int { return s.imgs.Len() / s.cfg.Batch }

// Next implements Source.
func (s *LoaderSource) Next() (Batch, error) {
	b, err := s.loader.Next()
	if err != nil {
		return Batch{}, s.errorf("%w", err)
	}
	s.state = b.State
	return Batch{Images: b.Images, Strong: b.Strong, Labels: b.Labels}, nil
}

// State implements Source: the sampler's state as JSON.
func (s *LoaderSource) State() ([]byte, error) { return json.Marshal(s.state) }

// Restore implements Source.
func (s *LoaderSource) Restore(state []byte) error {
	var st data.SamplerState
	if err := json.Unmarshal(state, &st); err != nil {
		return s.errorf("restore: %w", err)
	}
	sampler, err := data.NewRandomSampler(s.imgs.Len(), s.cfg.Batch, s.cfg.Seed)
	if err != nil {
		return s.errorf("%w", err)
	}
	if err := sampler.Restore(st); err != nil {
		return s.errorf("restore: %w", err)
	}
	return s.start(sampler)
}

// errorf is fmt.Errorf with "uda: DOMAIN images: " before the message.
func (s *LoaderSource) errorf(format string, args ...any) error {
	what := "images"
	if s.cfg.Domain != "" {
		what = s.cfg.Domain + " images"
	}
	return fmt.Errorf("uda: %s: %w", what, fmt.Errorf(format, args...))
}

// Close stops the loader.
func (s *LoaderSource) Close() error { return s.loader.Close() }

// ImageSet is the EvalSet of a set of images seen through a test
// transform.
type ImageSet struct {
	imgs data.Source
	size int
	t    augment.Transform
	norm func([]float32, *image.RGBA)
}

// NewImageSet returns the test set of imgs for a model taking size×size
// images: each image is transformed by t (which must be deterministic,
// such as augment.Recipe.Test) and normalised by norm, or by CLIP's
// normalisation when norm is nil.
func NewImageSet(imgs data.Source, size int, t augment.Transform, norm func(dst []float32, img *image.RGBA)) *ImageSet {
	if size <= 0 || t == nil {
		panic(fmt.Sprintf("uda: NewImageSet: size %d, transform %v", size, t))
	}
	if norm == nil {
		norm = vlp.NormalizeImage
	}
	return &ImageSet{imgs: imgs, size: size, t: t, norm: norm}
}

// preprocess applies t to img and normalises the result into dst, which
// must hold the size×size image the transform is expected to make.
func preprocess(dst []float32, img *image.RGBA, size int, t augment.Transform, r *rand.Rand, norm func([]float32, *image.RGBA)) error {
	out := t.Apply(img, r)
	if b := out.Bounds(); b.Dx() != size || b.Dy() != size {
		return fmt.Errorf("transform %v makes a %dx%d image, the model takes %dx%d", t, b.Dx(), b.Dy(), size, size)
	}
	norm(dst, out)
	return nil
}

// Len implements EvalSet.
func (s *ImageSet) Len() int { return s.imgs.Len() }

// Batch implements EvalSet, decoding and transforming in parallel.
func (s *ImageSet) Batch(lo, hi int) (Batch, error) {
	if lo < 0 || hi > s.imgs.Len() || lo > hi {
		panic(fmt.Sprintf("uda: ImageSet.Batch: [%d, %d) of %d images", lo, hi, s.imgs.Len()))
	}
	n, per := hi-lo, 3*s.size*s.size
	x := make([]float32, n*per)
	labels := make([]int, n)
	errs := make([]error, n)
	kernels.ParallelFor(n, 1, func(a, b int) {
		r := rand.New(rand.NewPCG(0, 0)) // a test transform draws nothing
		for k := a; k < b; k++ {
			labels[k] = s.imgs.Label(lo + k)
			img, err := s.imgs.Image(lo + k)
			if err == nil {
				err = preprocess(x[k*per:(k+1)*per], vlp.RGB(img), s.size, s.t, r, s.norm)
			}
			errs[k] = err
		}
	})
	for _, err := range errs {
		if err != nil {
			return Batch{}, fmt.Errorf("uda: test set: %w", err)
		}
	}
	return Batch{Images: tensor.New(x, n, 3, s.size, s.size), Labels: labels}, nil
}
