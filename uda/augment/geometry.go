package augment

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/vlp"
)

// Resize resizes to Width×Height with PIL's bilinear filter
// (vlp.ResizeBilinear), like torchvision's Resize([H, W]) on a PIL image:
// the aspect ratio changes, nothing is cropped.
type Resize struct{ Width, Height int }

// Apply resizes img.
func (t Resize) Apply(img *image.RGBA, _ *rand.Rand) *image.RGBA {
	checkSize("Resize", t.Width, t.Height)
	return vlp.ResizeBilinear(img, t.Width, t.Height)
}

func (t Resize) String() string { return fmt.Sprintf("Resize([%d, %d])", t.Height, t.Width) }

// ResizeShorter resizes the shorter side to Size with PIL's bilinear
// filter, keeping the aspect ratio, like torchvision's Resize(Size): the
// longer side becomes ⌊Size·long/short⌋.
type ResizeShorter struct{ Size int }

// Apply resizes img.
func (t ResizeShorter) Apply(img *image.RGBA, _ *rand.Rand) *image.RGBA {
	checkSize("ResizeShorter", t.Size, t.Size)
	w, h := size(img)
	short, long := min(w, h), max(w, h)
	if short == t.Size {
		return img
	}
	newLong := int(float64(t.Size*long) / float64(short))
	if w <= h {
		return vlp.ResizeBilinear(img, t.Size, newLong)
	}
	return vlp.ResizeBilinear(img, newLong, t.Size)
}

func (t ResizeShorter) String() string { return fmt.Sprintf("Resize(%d)", t.Size) }

// CenterCrop crops the Width×Height centre (vlp.CenterCrop, as
// torchvision's CenterCrop: halves round to even, and a smaller image is
// padded with black first).
type CenterCrop struct{ Width, Height int }

// Apply crops img.
func (t CenterCrop) Apply(img *image.RGBA, _ *rand.Rand) *image.RGBA {
	checkSize("CenterCrop", t.Width, t.Height)
	return vlp.CenterCrop(img, t.Width, t.Height)
}

func (t CenterCrop) String() string { return fmt.Sprintf("CenterCrop([%d, %d])", t.Height, t.Width) }

// RandomCrop crops a Width×Height window at a uniformly random position,
// like torchvision's RandomCrop without padding: the top row is drawn
// first, then the left column, each uniform over every position where the
// window fits. An image of exactly the crop's size is returned without a
// draw. torchvision raises an error for an image smaller than the crop;
// RandomCrop pads the short side with black as CenterCrop does first (the
// benchmark recipes never get there).
type RandomCrop struct{ Width, Height int }

// Apply crops img.
func (t RandomCrop) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	checkSize("RandomCrop", t.Width, t.Height)
	w, h := size(img)
	if w < t.Width || h < t.Height {
		img = vlp.CenterCrop(img, max(w, t.Width), max(h, t.Height))
		w, h = size(img)
	}
	if w == t.Width && h == t.Height {
		return img
	}
	top := r.IntN(h - t.Height + 1)
	left := r.IntN(w - t.Width + 1)
	return Crop(img, left, top, t.Width, t.Height)
}

func (t RandomCrop) String() string { return fmt.Sprintf("RandomCrop([%d, %d])", t.Height, t.Width) }

// RandomResizedCrop crops a random window and resizes it to Size×Size
// with the bilinear filter, by torchvision's algorithm: up to ten times,
// draw an area fraction uniformly from Scale and an aspect ratio
// log-uniformly from Ratio, round the window's sides (halves to even), and
// take the first window that fits, at a uniform position (top row drawn
// first). If none fits, take the centre window with the image's own
// aspect ratio clamped to Ratio.
type RandomResizedCrop struct {
	Size  int
	Scale [2]float64 // fraction of the image's area; torchvision's default (0.08, 1)
	Ratio [2]float64 // width/height; torchvision's default (3/4, 4/3)
}

// Apply crops and resizes img.
func (t RandomResizedCrop) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	checkSize("RandomResizedCrop", t.Size, t.Size)
	if !(t.Scale[0] > 0 && t.Scale[0] <= t.Scale[1] && t.Ratio[0] > 0 && t.Ratio[0] <= t.Ratio[1]) {
		panic(fmt.Sprintf("augment: RandomResizedCrop: scale %v, ratio %v", t.Scale, t.Ratio))
	}
	left, top, w, h := t.window(img, r)
	return vlp.ResizeBilinear(Crop(img, left, top, w, h), t.Size, t.Size)
}

// window returns the crop torchvision's RandomResizedCrop.get_params picks.
func (t RandomResizedCrop) window(img *image.RGBA, r *rand.Rand) (left, top, w, h int) {
	width, height := size(img)
	area := float64(width * height)
	logLo, logHi := detmath.Log(t.Ratio[0]), detmath.Log(t.Ratio[1])
	for range 10 {
		target := area * uniform(r, t.Scale[0], t.Scale[1])
		aspect := detmath.Exp(uniform(r, logLo, logHi))
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= width && 0 < h && h <= height {
			top := r.IntN(height - h + 1)
			left := r.IntN(width - w + 1)
			return left, top, w, h
		}
	}
	inRatio := float64(width) / float64(height)
	switch {
	case inRatio < t.Ratio[0]:
		w, h = width, int(math.RoundToEven(float64(width)/t.Ratio[0]))
	case inRatio > t.Ratio[1]:
		w, h = int(math.RoundToEven(float64(height)*t.Ratio[1])), height
	default:
		w, h = width, height
	}
	return (width - w) / 2, (height - h) / 2, w, h
}

func (t RandomResizedCrop) String() string {
	return fmt.Sprintf("RandomResizedCrop(size=(%d, %d), scale=(%g, %g), ratio=(%g, %g))",
		t.Size, t.Size, t.Scale[0], t.Scale[1], t.Ratio[0], t.Ratio[1])
}

// uniform draws from [lo, hi) as torch's uniform_ does.
func uniform(r *rand.Rand, lo, hi float64) float64 {
	return lo + float64((hi-lo)*r.Float64())
}

// HorizontalFlip mirrors the image left to right with probability P, like
// torchvision's RandomHorizontalFlip(P): one draw u, flipped when u < P.
type HorizontalFlip struct{ P float64 }

// Apply flips img or returns it.
func (t HorizontalFlip) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	checkProb("HorizontalFlip", t.P)
	if r.Float64() < t.P {
		return FlipHorizontal(img)
	}
	return img
}

func (t HorizontalFlip) String() string { return fmt.Sprintf("RandomHorizontalFlip(p=%g)", t.P) }

// Pad adds N black pixels on every side, like torchvision's Pad(N).
type Pad struct{ N int }

// Apply pads img.
func (t Pad) Apply(img *image.RGBA, _ *rand.Rand) *image.RGBA {
	if t.N < 0 {
		panic(fmt.Sprintf("augment: Pad: %d", t.N))
	}
	if t.N == 0 {
		return img
	}
	img = origin(img)
	w, h := size(img)
	out := newImage(w+2*t.N, h+2*t.N)
	for y := range h {
		copy(out.Pix[out.PixOffset(t.N, y+t.N):], img.Pix[y*img.Stride:(y+1)*img.Stride])
	}
	return out
}

func (t Pad) String() string { return fmt.Sprintf("Pad(padding=%d)", t.N) }

// RandomRotation rotates by an angle drawn uniformly from
// [−Degrees, Degrees] about the centre, with nearest-neighbour sampling
// and black outside the image, like torchvision's RandomRotation(Degrees).
type RandomRotation struct{ Degrees float64 }

// Apply rotates img.
func (t RandomRotation) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	angle := uniform(r, -t.Degrees, t.Degrees)
	return Rotate(img, angle, Nearest, [3]uint8{})
}

func (t RandomRotation) String() string {
	return fmt.Sprintf("RandomRotation(degrees=[%g, %g], interpolation=nearest)", -t.Degrees, t.Degrees)
}

// Crop returns the w×h window of img whose top-left corner is (left,
// top), relative to img's corner, as a new image. It panics if the window
// is not inside img.
func Crop(img *image.RGBA, left, top, w, h int) *image.RGBA {
	b := img.Bounds()
	if left < 0 || top < 0 || w <= 0 || h <= 0 || left+w > b.Dx() || top+h > b.Dy() {
		panic(fmt.Sprintf("augment: Crop: %dx%d at (%d, %d) outside a %dx%d image", w, h, left, top, b.Dx(), b.Dy()))
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		off := img.PixOffset(b.Min.X+left, b.Min.Y+top+y)
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], img.Pix[off:off+4*w])
	}
	return out
}

// FlipHorizontal returns img mirrored left to right.
func FlipHorizontal(img *image.RGBA) *image.RGBA {
	img = origin(img)
	w, h := size(img)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		src, dst := img.Pix[y*img.Stride:], out.Pix[y*out.Stride:]
		for x := range w {
			copy(dst[4*(w-1-x):4*(w-x)], src[4*x:4*x+4])
		}
	}
	return out
}
