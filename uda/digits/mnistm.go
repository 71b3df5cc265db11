package digits

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// BlendMNISTM builds an MNIST-M-style domain from grey digits: for each
// image it picks one of the photos and a crop of the image's size at a
// random position, both uniformly, and sets every output channel to
// |crop - digit|, the construction of Ganin et al.'s MNIST-M. The ink thus
// takes the photo's inverted colours and the ground keeps them.
//
// The photo and crop of image i come from a PCG stream keyed by seed,
// d.Split and i alone, so a seed gives the same images on every machine
// and at any GOMAXPROCS. Photos come from the caller; use
// LoadPhotos(dir, MNISTMPool) so that the crops stay disjoint from
// CorpusPool.
func BlendMNISTM(d *Dataset, photos []Photo, seed uint64) *Dataset {
	if d.Channels != 1 {
		panic(fmt.Sprintf("digits: BlendMNISTM: %d channels, want grey digits", d.Channels))
	}
	if len(photos) == 0 {
		panic("digits: BlendMNISTM: no photos")
	}
	var names []string
	for _, p := range photos {
		if b := p.Image.Rect; b.Dx() < d.Width || b.Dy() < d.Height {
			panic(fmt.Sprintf("digits: BlendMNISTM: photo %s (%dx%d) is smaller than the digits", p.Name, b.Dx(), b.Dy()))
		}
		names = append(names, p.Name)
	}
	out := d.withShape(d.Width, d.Height, 3, d.Len())
	out.Name = MNISTM
	copy(out.Labels, d.Labels)
	out.Sources = append(append([]string{}, d.Sources...),
		fmt.Sprintf("|crop-digit| over crops of %s (seed %d)", strings.Join(names, ", "), seed))
	stream := d.Split.streamIndex()
	parallel(d.Len(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rng := rand.New(rand.NewPCG(seed, uint64(i)<<2|stream))
			p := photos[rng.IntN(len(photos))].Image
			x0 := p.Rect.Min.X + rng.IntN(p.Rect.Dx()-d.Width+1)
			y0 := p.Rect.Min.Y + rng.IntN(p.Rect.Dy()-d.Height+1)
			digit, dst := d.Image(i), out.Image(i)
			for y := range d.Height {
				row := p.Pix[p.PixOffset(x0, y0+y):]
				for x := range d.Width {
					g := digit[y*d.Width+x]
					for c := range 3 {
						dst[(y*d.Width+x)*3+c] = absDiff(row[4*x+c], g)
					}
				}
			}
		}
	})
	return out
}

// absDiff returns |a - b|.
func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}
