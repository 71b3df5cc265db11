package data

import (
	"fmt"
	"math/rand/v2"
)

// Draw is one batch of sample indices chosen by a Sampler.
type Draw struct {
	// Index holds the dataset indices of the batch's samples.
	Index []int
	// Pass counts the passes over the data before this batch's (an
	// epoch of the sampler); Pos is the position of its first sample in
	// that pass's order. Sample k of the batch is at (Pass, Pos+k), which
	// the loader seeds its augmentation with.
	Pass, Pos int
	// State is the sampler's state after this draw: a sampler restored to
	// it continues with the next batch.
	State SamplerState
}

// Sampler chooses the samples of each batch. Next returns false when a
// finite sampler has no batch left.
type Sampler interface {
	Next() (Draw, bool)
}

// SamplerState is everything a sampler's future depends on, small enough
// to store in a checkpoint (it encodes as JSON). Seed, N and Batch
// identify the sampler; Pass and Pos say where it is.
type SamplerState struct {
	Seed  uint64 `json:"seed"`
	N     int    `json:"n"`
	Batch int    `json:"batch"`
	Pass  int    `json:"pass"`
	Pos   int    `json:"pos"`
}

// RandomSampler draws batches forever, as the paper's infinite loaders do
// (torch's RandomSampler without replacement, BatchSampler with
// drop_last): each pass over the data is a fresh random permutation, cut
// into ⌊N/Batch⌋ batches; the N mod Batch samples left at its end are
// dropped, and the next pass starts.
//
// A pass's permutation depends only on the seed and the pass number, so
// the state (pass, position) determines every later batch: there is no
// hidden generator state to save.
type RandomSampler struct {
	st   SamplerState
	perm []int // of pass st.Pass
}

// NewRandomSampler returns a sampler of batches of batch samples out of n,
// at the start of pass 0. It fails if n < batch: no batch could be drawn.
func NewRandomSampler(n, batch int, seed uint64) (*RandomSampler, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("data: random sampler: batch size %d", batch)
	}
	if n < batch {
		return nil, fmt.Errorf("data: random sampler: %d images, fewer than one batch of %d (batches are full; the rest of each pass is dropped)", n, batch)
	}
	s := &RandomSampler{st: SamplerState{Seed: seed, N: n, Batch: batch}}
	s.shuffle()
	return s, nil
}

// shuffle makes the permutation of the current pass.
func (s *RandomSampler) shuffle() {
	r := rand.New(rand.NewPCG(s.st.Seed, splitmix(uint64(s.st.Pass)^0x5eed)))
	s.perm = r.Perm(s.st.N)
}

// BatchesPerPass returns ⌊N/Batch⌋.
func (s *RandomSampler) BatchesPerPass() int { return s.st.N / s.st.Batch }

// Next returns the next batch; it always has one.
func (s *RandomSampler) Next() (Draw, bool) {
	if s.st.Pos+s.st.Batch > s.st.N {
		s.st.Pass++
		s.st.Pos = 0
		s.shuffle()
	}
	d := Draw{
		Index: append([]int(nil), s.perm[s.st.Pos:s.st.Pos+s.st.Batch]...),
		Pass:  s.st.Pass,
		Pos:   s.st.Pos,
	}
	s.st.Pos += s.st.Batch
	d.State = s.st
	return d, true
}

// State returns the sampler's state.
func (s *RandomSampler) State() SamplerState { return s.st }

// Restore moves the sampler to st, a state of a sampler with the same
// seed, data size and batch size.
func (s *RandomSampler) Restore(st SamplerState) error {
	if st.Seed != s.st.Seed || st.N != s.st.N || st.Batch != s.st.Batch {
		return fmt.Errorf("data: random sampler: state of seed %d, %d images, batch %d; this sampler has seed %d, %d images, batch %d",
			st.Seed, st.N, st.Batch, s.st.Seed, s.st.N, s.st.Batch)
	}
	if st.Pass < 0 || st.Pos < 0 || st.Pos > st.N {
		return fmt.Errorf("data: random sampler: invalid state pass %d, position %d of %d", st.Pass, st.Pos, st.N)
	}
	pass := s.st.Pass
	s.st = st
	if st.Pass != pass || s.perm == nil {
		s.shuffle()
	}
	return nil
}

// SequentialSampler draws 0, 1, …, N−1 in order, in batches of Batch;
// the last batch holds the rest. It is the evaluation sampler.
type SequentialSampler struct {
	st SamplerState
}

// NewSequentialSampler returns a sampler over n samples in batches of
// batch.
func NewSequentialSampler(n, batch int) *SequentialSampler {
	if n < 0 || batch <= 0 {
		panic(fmt.Sprintf("data: NewSequentialSampler: %d samples, batch %d", n, batch))
	}
	return &SequentialSampler{st: SamplerState{N: n, Batch: batch}}
}

// Next returns the next batch, or false after the last.
func (s *SequentialSampler) Next() (Draw, bool) {
	if s.st.Pos >= s.st.N {
		return Draw{}, false
	}
	end := min(s.st.Pos+s.st.Batch, s.st.N)
	d := Draw{Index: make([]int, end-s.st.Pos), Pos: s.st.Pos}
	for i := range d.Index {
		d.Index[i] = s.st.Pos + i
	}
	s.st.Pos = end
	d.State = s.st
	return d, true
}

// State returns the sampler's state.
func (s *SequentialSampler) State() SamplerState { return s.st }

// splitmix is SplitMix64's output function, used to spread small
// integers (passes, positions) over all 64 bits of a seed.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
