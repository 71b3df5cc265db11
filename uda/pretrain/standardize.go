package pretrain

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/digits"
)

// PreprocessKey is the safetensors metadata key under which Save records
// how the model expects its images prepared, and PreprocessStandardize the
// value for Standardize.
const (
	PreprocessKey         = "vlpuda.preprocess"
	PreprocessStandardize = "per-image-standardize"
)

// Standardize writes an image into dst (3·h·w values, CHW) as the teacher
// expects it: the pixels scaled to [0, 1], minus the mean of all 3·h·w
// values, divided by their standard deviation or by 1/√(3·h·w) if that is
// larger (so a flat image gives zeros, not a division by zero). pix holds
// h·w pixels of channels (1 grey, copied to the three channels, or 3 RGB)
// interleaved, as digits.Dataset stores images.
func Standardize(dst []float32, pix []uint8, w, h, channels int) {
	n := w * h
	if len(dst) != 3*n || len(pix) != n*channels || (channels != 1 && channels != 3) {
		panic(fmt.Sprintf("pretrain: Standardize: %d values and %d pixels for a %dx%dx%d image", len(dst), len(pix), w, h, channels))
	}
	var sum, sq float64
	for _, v := range pix {
		f := float64(v) / 255
		sum += f
		sq += float64(f * f)
	}
	// Grey pixels count three times, once per channel they fill.
	cnt := float64(len(pix))
	mean := sum / cnt
	std := math.Sqrt(max(sq/cnt-float64(mean*mean), 0))
	std = max(std, 1/math.Sqrt(float64(3*n)))
	scale := float32(1 / (255 * std))
	shift := float32(mean / std)
	for c := range 3 {
		plane := dst[c*n : (c+1)*n]
		if channels == 1 {
			for p, v := range pix {
				plane[p] = float32(float32(v)*scale) - shift
			}
			continue
		}
		for p := range plane {
			plane[p] = float32(float32(pix[3*p+c])*scale) - shift
		}
	}
}

// ImageBatch returns images idx of d, standardised, as a batch
// (len(idx), 3, H, W) for the teacher. d must already be at the model's
// resolution (see digits.Dataset.Resize); grey images fill all three
// channels.
func ImageBatch(d *digits.Dataset, idx []int) *tensor.Tensor {
	per := 3 * d.Width * d.Height
	data := make([]float32, len(idx)*per)
	kernels.ParallelFor(len(idx), 16, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			Standardize(data[j*per:(j+1)*per], d.Image(idx[j]), d.Width, d.Height, d.Channels)
		}
	})
	return tensor.New(data, len(idx), 3, d.Height, d.Width)
}

// sampleBatch standardises the images of samples (size×size RGB) into a
// batch (N, 3, size, size).
func sampleBatch(samples []Sample, size int) *tensor.Tensor {
	per := 3 * size * size
	data := make([]float32, len(samples)*per)
	kernels.ParallelFor(len(samples), 16, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			Standardize(data[j*per:(j+1)*per], samples[j].Pixels, size, size, 3)
		}
	})
	return tensor.New(data, len(samples), 3, size, size)
}
