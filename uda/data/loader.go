package data

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/vlp"
)

// Source is what a Loader reads: a Dataset, or any other indexed set of
// labelled images (the digit domains live in memory).
type Source interface {
	Len() int
	Label(i int) int
	// Image decodes image i; its error names the file.
	Image(i int) (image.Image, error)
}

// ErrorPolicy says what a Loader does with an image it cannot read.
type ErrorPolicy int

const (
	// FailOnError, the default, makes Next return the error, which names
	// the file; the loader is then done.
	FailOnError ErrorPolicy = iota
	// SkipOnError leaves the image out of its batch, which is smaller by
	// one, and counts it (Loader.Skips); an image that failed is not
	// read again. A batch whose every image failed is left out too.
	SkipOnError
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// Transform augments each image (after conversion to RGB) to
	// Size×Size: the training transform, or the test transform for
	// evaluation. Required.
	Transform augment.Transform
	// Strong, if set, makes a second view of the same image for
	// Batch.Strong: FixMatch's strong view.
	Strong augment.Transform
	// Size is the side of the images the transforms make.
	Size int
	// Seed seeds the augmentation. Loaders that run side by side (source
	// and target) should have different seeds, or their samples at equal
	// positions are augmented alike.
	Seed uint64
	// Workers is the number of goroutines decoding and augmenting;
	// 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Prefetch is the number of batches prepared ahead of Next; 0 means 2.
	Prefetch int
	// OnError says what to do with images that cannot be read.
	OnError ErrorPolicy
}

// Batch is one batch of augmented, normalised images.
type Batch struct {
	// Images holds the images, (B, 3, Size, Size), normalised with CLIP's
	// mean and standard deviation.
	Images *tensor.Tensor
	// Strong holds the strong views, (B, 3, Size, Size), or is nil
	// without LoaderConfig.Strong.
	Strong *tensor.Tensor
	// Labels and Indices are the samples' labels and dataset indices.
	Labels, Indices []int
	// Pass is the sampler's pass the batch belongs to.
	Pass int
	// State is the sampler state after this batch: a checkpoint that
	// stores it resumes with the next batch (RandomSampler.Restore).
	State SamplerState
	// Skipped counts the images of this batch left out (SkipOnError).
	Skipped int
}

// Loader decodes and augments images in parallel worker goroutines and
// hands them out in batches, a few batches ahead of the caller.
//
// The batches do not depend on the number of workers or their timing:
// the sampler alone decides which samples form which batch, in order, and
// each sample's augmentation draws from a generator seeded by the
// loader's seed and the sample's place in the sampler's order (pass,
// position), with a separate generator for the strong view. Restoring the
// sampler to a batch's State therefore reproduces every later batch,
// augmentations included.
type Loader struct {
	src    Source
	cfg    LoaderConfig
	ctx    context.Context
	cancel context.CancelCauseFunc
	ready  chan *pending // batches in sampler order, jobs queued
	wg     sync.WaitGroup
	close  sync.Once
	err    error // the error that ended the loader

	mu        sync.Mutex
	bad       map[int]error // SkipOnError: images that failed, by index
	badOrder  []int
	skipCount atomic.Int64
}

// pending is a batch being prepared.
type pending struct {
	draw           Draw
	images, strong []float32
	errs           []error
	left           atomic.Int32 // samples not yet done
	done           chan struct{}
}

type job struct {
	p *pending
	k int
}

// NewLoader starts a loader of src's images in the batches s draws. It
// stops when ctx is cancelled or Close is called; Close must be called
// either way to wait for its goroutines.
func NewLoader(ctx context.Context, src Source, s Sampler, cfg LoaderConfig) (*Loader, error) {
	if cfg.Transform == nil {
		return nil, errors.New("data: loader: no transform")
	}
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("data: loader: image size %d", cfg.Size)
	}
	if cfg.OnError != FailOnError && cfg.OnError != SkipOnError {
		return nil, fmt.Errorf("data: loader: unknown error policy %d", cfg.OnError)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	l := &Loader{src: src, cfg: cfg, ready: make(chan *pending, cfg.Prefetch), bad: map[int]error{}}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	jobs := make(chan job, cfg.Workers)
	l.wg.Go(func() { l.produce(s, jobs) })
	for range cfg.Workers {
		l.wg.Go(func() { l.work(jobs) })
	}
	return l, nil
}

// produce draws batches and queues their samples, in order.
func (l *Loader) produce(s Sampler, jobs chan<- job) {
	defer close(jobs)
	defer close(l.ready)
	per := 3 * l.cfg.Size * l.cfg.Size
	for {
		d, ok := s.Next()
		if !ok {
			return
		}
		p := &pending{draw: d, images: make([]float32, len(d.Index)*per), errs: make([]error, len(d.Index)), done: make(chan struct{})}
		if l.cfg.Strong != nil {
			p.strong = make([]float32, len(d.Index)*per)
		}
		p.left.Store(int32(len(d.Index)))
		if len(d.Index) == 0 {
			close(p.done)
		}
		select {
		case l.ready <- p:
		case <-l.ctx.Done():
			return
		}
		for k := range d.Index {
			select {
			case jobs <- job{p, k}:
			case <-l.ctx.Done():
				return
			}
		}
	}
}

// work decodes and augments queued samples.
func (l *Loader) work(jobs <-chan job) {
	for {
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			j.p.errs[j.k] = l.sample(j.p, j.k)
			if j.p.left.Add(-1) == 0 {
				close(j.p.done)
			}
		case <-l.ctx.Done():
			return
		}
	}
}

// Streams of the per-sample generators.
const (
	viewMain = iota + 1
	viewStrong
)

// sampleRand returns the generator of one view of the sample at (pass,
// pos) of the sampler's order.
func sampleRand(seed uint64, view, pass, pos int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix(seed^splitmix(uint64(view))), splitmix(uint64(pass)<<32^uint64(pos))))
}

// sample decodes sample k of p and writes its views.
func (l *Loader) sample(p *pending, k int) error {
	idx := p.draw.Index[k]
	if l.cfg.OnError == SkipOnError {
		l.mu.Lock()
		err := l.bad[idx]
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	img, err := l.src.Image(idx)
	if err != nil {
		return err
	}
	rgb := vlp.RGB(img)
	per := 3 * l.cfg.Size * l.cfg.Size
	pos := p.draw.Pos + k
	views := []struct {
		t    augment.Transform
		dst  []float32
		view int
	}{{l.cfg.Transform, p.images, viewMain}, {l.cfg.Strong, p.strong, viewStrong}}
	for _, v := range views {
		if v.t == nil {
			continue
		}
		out := v.t.Apply(rgb, sampleRand(l.cfg.Seed, v.view, p.draw.Pass, pos))
		if b := out.Bounds(); b.Dx() != l.cfg.Size || b.Dy() != l.cfg.Size {
			return fmt.Errorf("%w: %s made a %dx%d image, want %dx%d", errTransformSize, v.t, b.Dx(), b.Dy(), l.cfg.Size, l.cfg.Size)
		}
		vlp.NormalizeImage(v.dst[k*per:(k+1)*per], out)
	}
	return nil
}

// errTransformSize marks a transform that does not make Size×Size images:
// a configuration error, fatal whatever the error policy.
var errTransformSize = errors.New("transform size")

// Next returns the next batch. It returns io.EOF after the last batch of
// a finite sampler, the context's error once it is cancelled, ErrClosed
// after Close, and under FailOnError the first image error; after an
// error it returns the same error again. Next must not be called from
// several goroutines at once.
func (l *Loader) Next() (*Batch, error) {
	for {
		if l.err != nil {
			return nil, l.err
		}
		var p *pending
		select {
		case p = <-l.ready:
		case <-l.ctx.Done():
		}
		if l.ctx.Err() != nil {
			l.err = ErrClosed
			if cause := context.Cause(l.ctx); !errors.Is(cause, ErrClosed) {
				l.err = fmt.Errorf("data: loader: %w", cause)
			}
			return nil, l.err
		}
		if p == nil {
			l.err = io.EOF
			return nil, io.EOF
		}
		select {
		case <-p.done:
		case <-l.ctx.Done():
			continue
		}
		b, err := l.assemble(p)
		if err != nil {
			l.err = err
			l.cancel(err)
			return nil, err
		}
		if b != nil {
			return b, nil
		}
	}
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("data: loader closed")

// assemble turns a finished pending batch into a Batch, leaving out the
// samples that failed under SkipOnError. It returns nil if none is left.
func (l *Loader) assemble(p *pending) (*Batch, error) {
	per := 3 * l.cfg.Size * l.cfg.Size
	b := &Batch{Pass: p.draw.Pass, State: p.draw.State}
	keep := 0
	for k, idx := range p.draw.Index {
		if err := p.errs[k]; err != nil {
			if l.cfg.OnError == FailOnError || errors.Is(err, errTransformSize) {
				return nil, fmt.Errorf("data: loader: image %d: %w", idx, err)
			}
			l.skip(idx, err)
			b.Skipped++
			continue
		}
		if keep != k {
			copy(p.images[keep*per:(keep+1)*per], p.images[k*per:(k+1)*per])
			if p.strong != nil {
				copy(p.strong[keep*per:(keep+1)*per], p.strong[k*per:(k+1)*per])
			}
		}
		b.Indices = append(b.Indices, idx)
		b.Labels = append(b.Labels, l.src.Label(idx))
		keep++
	}
	if keep == 0 {
		return nil, nil
	}
	s := l.cfg.Size
	b.Images = tensor.New(p.images[:keep*per], keep, 3, s, s)
	if p.strong != nil {
		b.Strong = tensor.New(p.strong[:keep*per], keep, 3, s, s)
	}
	return b, nil
}

// skip records a left-out image.
func (l *Loader) skip(idx int, err error) {
	l.skipCount.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.bad[idx]; !ok {
		l.bad[idx] = err
		l.badOrder = append(l.badOrder, idx)
	}
}

// Skips reports the images SkipOnError left out so far: how many times
// one was left out (an image drawn again in a later pass counts again),
// and each distinct image's error, in the order they were met.
func (l *Loader) Skips() (count int, errs []error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, idx := range l.badOrder {
		errs = append(errs, fmt.Errorf("image %d: %w", idx, l.bad[idx]))
	}
	return int(l.skipCount.Load()), errs
}

// Close stops the loader and waits for its goroutines. It may be called
// more than once.
func (l *Loader) Close() error {
	l.close.Do(func() {
		l.cancel(ErrClosed)
		l.wg.Wait()
	})
	return nil
}
