package digits

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Split names a part of a domain.
type Split string

// The splits. A domain whose source defines no split offers only All.
const (
	Train Split = "train"
	Test  Split = "test"
	All   Split = "all"
)

// streamIndex gives each split its own random streams (see BlendMNISTM and
// RenderDigits), so that train and test never share a draw.
func (s Split) streamIndex() uint64 {
	switch s {
	case Train:
		return 1
	case Test:
		return 2
	}
	return 0
}

// Classes holds the class names of every digit domain: "0" to "9".
var Classes = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// Dataset is a labelled set of equally sized images.
type Dataset struct {
	// Name is the domain, such as "mnist".
	Name string
	// Split is the part of the domain held.
	Split Split
	// Width, Height and Channels (1 grey or 3 RGB) give every image's shape.
	Width, Height, Channels int
	// Pixels holds the images one after another, each row-major from the
	// top-left with channels interleaved: image i, row y, column x, channel c
	// is Pixels[((i*Height+y)*Width+x)*Channels+c]. 0 is black.
	Pixels []uint8
	// Labels holds each image's class, an index into Classes.
	Labels []int
	// Classes names the classes.
	Classes []string
	// Sources lists what the images were made from: files, photos, fonts.
	Sources []string
}

// Len returns the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// imageSize returns the number of bytes per image.
func (d *Dataset) imageSize() int { return d.Width * d.Height * d.Channels }

// Image returns the pixels of image i as a slice of d.Pixels (no copy).
func (d *Dataset) Image(i int) []uint8 {
	n := d.imageSize()
	return d.Pixels[i*n : (i+1)*n : (i+1)*n]
}

// ImageAt returns image i as an *image.Gray (one channel) or *image.RGBA
// (three channels, opaque). A grey image shares d.Pixels.
func (d *Dataset) ImageAt(i int) image.Image {
	r := image.Rect(0, 0, d.Width, d.Height)
	px := d.Image(i)
	switch d.Channels {
	case 1:
		return &image.Gray{Pix: px, Stride: d.Width, Rect: r}
	case 3:
		m := image.NewRGBA(r)
		for j, k := 0, 0; j < len(px); j, k = j+3, k+4 {
			m.Pix[k], m.Pix[k+1], m.Pix[k+2], m.Pix[k+3] = px[j], px[j+1], px[j+2], 0xff
		}
		return m
	}
	panic(fmt.Sprintf("digits: ImageAt: %d channels", d.Channels))
}

// ClassCounts returns the number of images of each class.
func (d *Dataset) ClassCounts() []int {
	n := make([]int, len(d.Classes))
	for _, l := range d.Labels {
		n[l]++
	}
	return n
}

// Subset returns a new Dataset holding the images idx, in that order.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.withShape(d.Width, d.Height, d.Channels, len(idx))
	for j, i := range idx {
		copy(s.Image(j), d.Image(i))
		s.Labels[j] = d.Labels[i]
	}
	return s
}

// withShape returns an empty Dataset like d with n images of the given shape.
func (d *Dataset) withShape(w, h, c, n int) *Dataset {
	return &Dataset{
		Name: d.Name, Split: d.Split,
		Width: w, Height: h, Channels: c,
		Pixels:  make([]uint8, n*w*h*c),
		Labels:  make([]int, n),
		Classes: d.Classes,
		Sources: d.Sources,
	}
}

// concat returns the images of a followed by those of b; the shapes must match.
func concat(a, b *Dataset) *Dataset {
	if a.Width != b.Width || a.Height != b.Height || a.Channels != b.Channels {
		panic("digits: concat: shapes differ")
	}
	s := a.withShape(a.Width, a.Height, a.Channels, 0)
	s.Pixels = append(append(s.Pixels, a.Pixels...), b.Pixels...)
	s.Labels = append(append(s.Labels, a.Labels...), b.Labels...)
	s.Split = All
	for _, src := range b.Sources {
		if !slices.Contains(s.Sources, src) {
			s.Sources = append(slices.Clone(s.Sources), src)
		}
	}
	return s
}

// Resize returns d with every image scaled to width x height and converted
// to channels (1 or 3). Grey becomes RGB by copying the grey value into
// each channel; RGB becomes grey by the luma of color.GrayModel.
//
// Scaling is bilinear: a separable tent filter, one source pixel wide when
// enlarging and widened by the reduction factor when shrinking, so that a
// reduction averages every source pixel under an output pixel instead of
// sampling a few (the filter of x/image/draw.BiLinear). Pixel centres are
// aligned, the aspect ratio is not kept, and results are rounded to the
// nearest level.
func (d *Dataset) Resize(width, height, channels int) *Dataset {
	if width <= 0 || height <= 0 || (channels != 1 && channels != 3) {
		panic(fmt.Sprintf("digits: Resize: bad shape %dx%dx%d", width, height, channels))
	}
	src := d
	if d.Channels == 3 && channels == 1 {
		src = d.toGrey() // fewer pixels to scale
	}
	out := d.withShape(width, height, channels, d.Len())
	copy(out.Labels, d.Labels)
	c := src.Channels
	xs, ys := tentTaps(src.Width, width), tentTaps(src.Height, height)
	parallel(d.Len(), func(lo, hi int) {
		wc := width * c
		rows := make([]float32, src.Height*wc) // after the horizontal pass
		acc := make([]float32, wc)
		scaled := make([]uint8, height*wc)
		for i := lo; i < hi; i++ {
			in := src.Image(i)
			for y := range src.Height {
				row := in[y*src.Width*c : (y+1)*src.Width*c]
				out := rows[y*wc : (y+1)*wc]
				for x, t := range xs {
					for k := range c {
						var v float32
						idx := t.first*c + k
						for _, w := range t.weights {
							v += float32(w * float32(row[idx]))
							idx += c
						}
						out[x*c+k] = v
					}
				}
			}
			for y, t := range ys {
				clear(acc)
				for j, w := range t.weights {
					r := rows[(t.first+j)*wc : (t.first+j+1)*wc]
					for x := range acc {
						acc[x] += float32(w * r[x])
					}
				}
				out := scaled[y*wc : (y+1)*wc]
				for x, v := range acc {
					out[x] = uint8(min(max(v+0.5, 0), 255))
				}
			}
			dst := out.Image(i)
			if c == channels {
				copy(dst, scaled)
				continue
			}
			for j, g := range scaled { // grey to RGB
				dst[3*j], dst[3*j+1], dst[3*j+2] = g, g, g
			}
		}
	})
	return out
}

// tap lists the source pixels and weights of one output pixel along an axis.
type tap struct {
	first   int       // first source index
	weights []float32 // for first, first+1, ...; they sum to 1
}

// tentTaps returns the taps of a tent filter scaling n pixels to m.
func tentTaps(n, m int) []tap {
	scale := float64(n) / float64(m)
	half, arg := 1.0, 1.0 // the tent's half-width in source pixels, and 1/stretch
	if scale > 1 {
		half, arg = scale, 1/scale
	}
	taps := make([]tap, m)
	for o := range taps {
		centre := float64((float64(o)+0.5)*scale) - 0.5 // output pixel centre in source coordinates
		lo := max(int(math.Floor(centre-half)), 0)
		hi := min(int(math.Ceil(centre+half)), n-1)
		for lo < hi && tent(float64(lo)-centre, arg) == 0 {
			lo++
		}
		for hi > lo && tent(float64(hi)-centre, arg) == 0 {
			hi--
		}
		var ws []float64
		var sum float64
		for k := lo; k <= hi; k++ {
			w := tent(float64(k)-centre, arg)
			ws = append(ws, w)
			sum += w
		}
		t := tap{first: lo, weights: make([]float32, len(ws))}
		for j, w := range ws {
			t.weights[j] = float32(w / sum)
		}
		taps[o] = t
	}
	return taps
}

// tent returns the tent filter's weight at distance x stretched by 1/arg.
func tent(x, arg float64) float64 { return max(1-float64(math.Abs(x)*arg), 0) }

// toGrey returns d with RGB images converted to grey by color.GrayModel.
func (d *Dataset) toGrey() *Dataset {
	g := d.withShape(d.Width, d.Height, 1, d.Len())
	copy(g.Labels, d.Labels)
	for j := range g.Pixels {
		p := d.Pixels[3*j : 3*j+3]
		g.Pixels[j] = color.GrayModel.Convert(color.RGBA{p[0], p[1], p[2], 0xff}).(color.Gray).Y
	}
	return g
}

// parallel splits [0, n) into contiguous chunks, one per processor, and
// runs f on each concurrently.
func parallel(n int, f func(lo, hi int)) {
	p := runtime.GOMAXPROCS(0)
	if p > n {
		p = n
	}
	if p <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < p; k++ {
		lo, hi := k*n/p, (k+1)*n/p
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}
