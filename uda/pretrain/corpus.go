package pretrain

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/digits"
)

// CorpusOptions configures a Corpus. Zero fields take the defaults given.
type CorpusOptions struct {
	// Size is the side of the square RGB images in pixels (default 32).
	Size int
	// Faces are the font faces to draw from; at least one is needed.
	Faces []digits.Face
	// Photos are background photos. They must come from
	// digits.CorpusPool: NewCorpus refuses any other photo, so that no
	// crop of the MNIST-M-style domain can appear in the corpus. Without
	// photos the corpus uses flat and gradient backgrounds only.
	Photos []digits.Photo
	// DigitShare is the fraction of samples that are digits (default
	// 0.45); the rest are letters and symbols, two to one.
	DigitShare float64
	// DigitsOnly restricts the corpus (and Classes) to the ten digits, for
	// held-out sets.
	DigitsOnly bool
	// Seed and HeldOut select the random streams: sample i draws from a
	// PCG stream keyed by Seed, HeldOut and i alone.
	Seed    uint64
	HeldOut bool
}

// withDefaults returns o with its zero fields set.
func (o CorpusOptions) withDefaults() CorpusOptions {
	if o.Size == 0 {
		o.Size = 32
	}
	if o.DigitShare == 0 {
		o.DigitShare = 0.45
	}
	return o
}

// Sample is one image–caption pair of the corpus.
type Sample struct {
	// Pixels holds the Size×Size RGB image, row-major with channels
	// interleaved, as digits.Dataset stores images.
	Pixels []uint8
	// Label is the class, an index into Classes().
	Label int
	// Caption names the character, and with attributes also the ink
	// colour and the background.
	Caption string
	// Face is the name of the font face drawn from.
	Face string
}

// Corpus is an endless, deterministic stream of rendered characters with
// captions; see the package documentation for the recipe.
type Corpus struct {
	opt     CorpusOptions
	classes []Class
	// drawable[k] lists, for class k, every rune with every face that
	// draws it.
	drawable [][]faceGlyph
	faces    []string
}

// faceGlyph is a glyph of one rune in one face.
type faceGlyph struct {
	face int // index into Corpus.faces
	g    glyph
}

// NewCorpus rasterises every class in every face and returns the corpus.
// Classes some faces lack are drawn from the others; a class no face draws
// is an error.
func NewCorpus(o CorpusOptions) (*Corpus, error) {
	o = o.withDefaults()
	if len(o.Faces) == 0 {
		return nil, errors.New("pretrain: corpus: no font faces")
	}
	if o.Size < 8 || o.DigitShare < 0 || o.DigitShare > 1 {
		return nil, fmt.Errorf("pretrain: corpus: bad options (size %d, digit share %g)", o.Size, o.DigitShare)
	}
	for _, p := range o.Photos {
		if !digits.CorpusPool.Contains(p.Name) {
			return nil, fmt.Errorf("pretrain: corpus: photo %s is not in the corpus pool (%v); the MNIST-M photos must stay out of the corpus", p.Name, digits.CorpusPool.Photos())
		}
		if b := p.Image.Rect; b.Dx() < o.Size || b.Dy() < o.Size {
			return nil, fmt.Errorf("pretrain: corpus: photo %s (%dx%d) is smaller than the images", p.Name, b.Dx(), b.Dy())
		}
	}
	c := &Corpus{opt: o, classes: Classes()}
	for _, f := range o.Faces {
		c.faces = append(c.faces, f.Name)
	}
	if o.DigitsOnly {
		c.classes = c.classes[:len(digitChars)]
	}
	c.drawable = make([][]faceGlyph, len(c.classes))
	errs := make([]error, len(c.classes))
	kernels.ParallelFor(len(c.classes), 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			for _, r := range c.classes[k].Runes {
				for i, f := range o.Faces {
					g, ok, err := rasterize(f, r)
					if err != nil {
						errs[k] = err
						return
					}
					if ok {
						c.drawable[k] = append(c.drawable[k], faceGlyph{i, g})
					}
				}
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for k, d := range c.drawable {
		if len(d) == 0 {
			return nil, fmt.Errorf("pretrain: corpus: no face draws %q", c.classes[k].Name)
		}
	}
	return c, nil
}

// Classes returns the corpus classes in label order.
func (c *Corpus) Classes() []Class { return c.classes }

// Size returns the side of the images in pixels.
func (c *Corpus) Size() int { return c.opt.Size }

// Faces returns the names of the faces the corpus draws from.
func (c *Corpus) Faces() []string { return slices.Clone(c.faces) }

// Fill sets dst[j] to sample first+j, in parallel. A sample's caption
// names its attributes with probability attrShare. The random draws of a
// sample do not depend on attrShare, so a sample's image is the same at
// any point of the curriculum.
func (c *Corpus) Fill(dst []Sample, first int, attrShare float64) {
	kernels.ParallelFor(len(dst), 8, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			dst[j] = c.Sample(first+j, attrShare)
		}
	})
}

// stream keys of the random streams.
const (
	streamTrain   = 1
	streamHeldOut = 2
)

// Sample returns sample i; see Fill.
func (c *Corpus) Sample(i int, attrShare float64) Sample {
	if i < 0 {
		panic(fmt.Sprintf("pretrain: Corpus.Sample: index %d", i))
	}
	stream := uint64(streamTrain)
	if c.opt.HeldOut {
		stream = streamHeldOut
	}
	rng := rand.New(rand.NewPCG(c.opt.Seed, uint64(i)<<2|stream))
	size := c.opt.Size

	// What to draw.
	label := c.drawClass(rng)
	cls := c.classes[label]
	fg := c.drawable[label][rng.IntN(len(c.drawable[label]))]
	weight := pick(rng, strokeWeights[:])
	tmpl := pickTemplate(rng, identityTemplates[cls.Kind])
	withAttrs := rng.Float64() < attrShare

	// Background, then an ink colour that stands out from it.
	pix := make([]uint8, size*size*3)
	bg := c.drawBackground(rng, pix)
	ink := drawInk(rng, bg)

	// Geometry: the glyph's ink box is scaled to box pixels (and squeezed
	// by up to 15 % along one axis), rotated and shifted.
	// Every product that meets a sum is converted, here and below, so that
	// no compiler fuses the two (arm64 would, into one rounding).
	box := float64(size) * (0.45 + float64(0.4*rng.Float64()))
	aspect := 0.85 + float64(0.3*rng.Float64())
	theta := 15 * signed(rng) * math.Pi / 180
	jx := float64(float64(size) * 0.08 * signed(rng))
	jy := float64(float64(size) * 0.08 * signed(rng))
	kx, ky := box/fg.g.side*aspect, box/fg.g.side
	if aspect > 1 {
		kx, ky = box/fg.g.side, box/fg.g.side/aspect
	}
	sin, cos := detmath.Sincos(theta)
	a, b, cc, e := kx*cos, -ky*sin, kx*sin, ky*cos
	tx := float64(size)/2 + jx - float64(float64(a*fg.g.cx)+float64(b*fg.g.cy))
	ty := float64(size)/2 + jy - float64(float64(cc*fg.g.cx)+float64(e*fg.g.cy))
	src := fg.g.weights[weight]
	mask := image.NewAlpha(image.Rect(0, 0, size, size))
	draw.BiLinear.Transform(mask, f64.Aff3{a, b, tx, cc, e, ty}, src, src.Rect, draw.Src, nil)
	for p, al := range mask.Pix {
		if al == 0 {
			continue
		}
		w := float64(al) / 255
		for ch := range 3 {
			v := &pix[3*p+ch]
			*v = uint8(float64(float64(*v)*(1-w)) + float64(float64(ink.rgb[ch])*w) + 0.5)
		}
	}

	// Camera-like degradations.
	if rng.Float64() < 0.2 {
		boxBlur(pix, size)
	}
	if rng.Float64() < 0.3 {
		sigma := 2 + float64(8*rng.Float64())
		for p := range pix {
			pix[p] = clampU8(float64(pix[p]) + float64(sigma*rng.NormFloat64()))
		}
	}

	caption := identityCaption(cls, tmpl)
	if withAttrs {
		caption = attributeCaption(cls, tmpl, ink.name, bg)
	}
	return Sample{Pixels: pix, Label: label, Caption: caption, Face: c.faces[fg.face]}
}

// drawClass draws a class: a digit with probability DigitShare, otherwise
// a letter or a symbol, two to one, each class of a kind equally often.
func (c *Corpus) drawClass(rng *rand.Rand) int {
	nd, nl, ns := len(digitChars), len(letterChars), len(symbolChars)
	u := rng.Float64()
	switch {
	case c.opt.DigitsOnly || u < c.opt.DigitShare:
		return rng.IntN(nd)
	case u < c.opt.DigitShare+(1-c.opt.DigitShare)*2/3:
		return nd + rng.IntN(nl)
	}
	return nd + nl + rng.IntN(ns)
}

// strokeWeights are the probabilities of thickening the strokes by 0 to 3
// pixels at digits.GlyphEm (about half that in a 32-pixel image): bold and
// pen-like strokes, as in handwriting, as well as the faces' own.
var strokeWeights = [4]float64{0.35, 0.3, 0.2, 0.15}

// pick returns i with probability p[i] (the p sum to 1).
func pick(rng *rand.Rand, p []float64) int {
	u := rng.Float64()
	for i, pi := range p {
		if u < pi {
			return i
		}
		u -= pi
	}
	return len(p) - 1
}

// pickTemplate draws a template index by the templates' weights.
func pickTemplate(rng *rand.Rand, ts []template) int {
	p := make([]float64, len(ts))
	for i, t := range ts {
		p[i] = t.weight
	}
	return pick(rng, p)
}

// colour is a named colour of the palette.
type colour struct {
	name string
	rgb  [3]uint8
}

// palette holds the colours of inks and flat backgrounds, by the names
// attribute captions use.
var palette = []colour{
	{"red", [3]uint8{220, 40, 40}}, {"green", [3]uint8{40, 170, 60}}, {"blue", [3]uint8{40, 70, 220}},
	{"yellow", [3]uint8{240, 220, 40}}, {"orange", [3]uint8{245, 140, 30}}, {"purple", [3]uint8{140, 50, 180}},
	{"pink", [3]uint8{245, 130, 190}}, {"cyan", [3]uint8{40, 200, 220}}, {"brown", [3]uint8{130, 80, 40}},
	{"white", [3]uint8{245, 245, 245}}, {"black", [3]uint8{15, 15, 15}}, {"grey", [3]uint8{128, 128, 128}},
}

// jitter returns c's colour with each channel moved by up to ±d levels.
func jitter(rng *rand.Rand, c colour, d int) [3]uint8 {
	var out [3]uint8
	for ch, v := range c.rgb {
		out[ch] = clampU8(float64(int(v) + rng.IntN(2*d+1) - d))
	}
	return out
}

// luma is the brightness of an RGB colour in [0, 1] (ITU-R BT.601).
func luma(c [3]float64) float64 {
	return (float64(0.299*c[0]) + float64(0.587*c[1]) + float64(0.114*c[2])) / 255
}

// bgKind is the sort of background.
type bgKind int

const (
	bgBlack bgKind = iota // MNIST-like: a light glyph on black
	bgFlat
	bgGradient
	bgPhoto
)

// background describes the background drawn, for captions and ink choice.
type background struct {
	kind   bgKind
	colour string     // the flat colour's name
	mean   [3]float64 // mean colour
	banned string     // a colour name the ink must not take
}

// words returns how a caption names the background.
func (b background) words() string {
	switch b.kind {
	case bgBlack:
		return "a black background"
	case bgFlat:
		return "a " + b.colour + " background"
	case bgGradient:
		return "a gradient background"
	}
	return "a textured background"
}

// bgShares are the probabilities of each background kind; photos fall
// back to flat colours when the corpus has none.
var bgShares = []float64{0.15, 0.3, 0.25, 0.3}

// drawBackground paints pix and describes what it painted.
func (c *Corpus) drawBackground(rng *rand.Rand, pix []uint8) background {
	size := c.opt.Size
	kind := bgKind(pick(rng, bgShares))
	if kind == bgPhoto && len(c.opt.Photos) == 0 {
		kind = bgFlat
	}
	bg := background{kind: kind}
	switch kind {
	case bgBlack:
		v := uint8(rng.IntN(25))
		for p := range pix {
			pix[p] = v
		}
		bg.colour, bg.banned = "black", "black"
	case bgFlat:
		col := palette[rng.IntN(len(palette))]
		rgb := jitter(rng, col, 20)
		for p := 0; p < len(pix); p += 3 {
			copy(pix[p:p+3], rgb[:])
		}
		bg.colour, bg.banned = col.name, col.name
	case bgGradient:
		a := jitter(rng, palette[rng.IntN(len(palette))], 20)
		b := jitter(rng, palette[rng.IntN(len(palette))], 20)
		dx, dy := detmath.Sincos(2 * math.Pi * rng.Float64())
		for y := range size {
			for x := range size {
				// t runs from 0 to 1 across the image along (dx, dy).
				t := 0.5 + float64(((float64(x)+0.5)/float64(size)-0.5)*dx) + float64(((float64(y)+0.5)/float64(size)-0.5)*dy)
				t = min(max(t, 0), 1)
				for ch := range 3 {
					pix[(y*size+x)*3+ch] = uint8(float64(float64(a[ch])*(1-t)) + float64(float64(b[ch])*t) + 0.5)
				}
			}
		}
	case bgPhoto:
		c.drawPhoto(rng, pix)
	}
	for p := 0; p < len(pix); p += 3 {
		for ch := range 3 {
			bg.mean[ch] += float64(pix[p+ch])
		}
	}
	for ch := range 3 {
		bg.mean[ch] /= float64(size * size)
	}
	return bg
}

// drawPhoto paints a random square crop of a corpus photo, between Size
// and half the photo's shorter side wide, scaled to Size, perhaps mirrored,
// and pulled towards its mean so that the glyph stays legible.
func (c *Corpus) drawPhoto(rng *rand.Rand, pix []uint8) {
	size := c.opt.Size
	p := c.opt.Photos[rng.IntN(len(c.opt.Photos))].Image
	maxSide := max(size, min(p.Rect.Dx(), p.Rect.Dy())/2)
	side := int(float64(size) * detmath.Pow(float64(maxSide)/float64(size), rng.Float64()))
	x0 := p.Rect.Min.X + rng.IntN(p.Rect.Dx()-side+1)
	y0 := p.Rect.Min.Y + rng.IntN(p.Rect.Dy()-side+1)
	mirror := rng.IntN(2) == 1
	keep := 0.3 + float64(0.5*rng.Float64())

	crop := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.ApproxBiLinear.Scale(crop, crop.Rect, p, image.Rect(x0, y0, x0+side, y0+side), draw.Src, nil)
	var mean [3]float64
	for q := 0; q < size*size; q++ {
		for ch := range 3 {
			mean[ch] += float64(crop.Pix[4*q+ch])
		}
	}
	for y := range size {
		for x := range size {
			sx := x
			if mirror {
				sx = size - 1 - x
			}
			for ch := range 3 {
				m := mean[ch] / float64(size*size)
				v := float64(crop.Pix[4*(y*size+sx)+ch])
				pix[(y*size+x)*3+ch] = clampU8(m + float64(keep*(v-m)))
			}
		}
	}
}

// drawInk draws an ink colour whose brightness differs from the
// background's mean by at least 0.3, trying palette colours first and
// falling back to black or white.
func drawInk(rng *rand.Rand, bg background) colour {
	if bg.kind == bgBlack {
		v := uint8(180 + rng.IntN(76))
		return colour{"white", [3]uint8{v, v, v}}
	}
	for range 20 {
		col := palette[rng.IntN(len(palette))]
		if col.name == bg.banned {
			continue
		}
		rgb := jitter(rng, col, 20)
		if math.Abs(luma([3]float64{float64(rgb[0]), float64(rgb[1]), float64(rgb[2])})-luma(bg.mean)) >= 0.3 {
			return colour{col.name, rgb}
		}
	}
	if luma(bg.mean) > 0.5 {
		return colour{"black", [3]uint8{15, 15, 15}}
	}
	return colour{"white", [3]uint8{245, 245, 245}}
}

// boxBlur replaces pix (size×size RGB) by its 3×3 mean, clamping at the edges.
func boxBlur(pix []uint8, size int) {
	src := slices.Clone(pix)
	for y := range size {
		for x := range size {
			for ch := range 3 {
				var s, n int
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						if yy, xx := y+dy, x+dx; yy >= 0 && yy < size && xx >= 0 && xx < size {
							s += int(src[(yy*size+xx)*3+ch])
							n++
						}
					}
				}
				pix[(y*size+x)*3+ch] = uint8((s + n/2) / n)
			}
		}
	}
}

// signed draws uniformly from [-1, 1).
func signed(rng *rand.Rand) float64 { return float64(2*rng.Float64()) - 1 }

// clampU8 rounds v to the nearest level in [0, 255].
func clampU8(v float64) uint8 { return uint8(min(max(v+0.5, 0), 255)) }
