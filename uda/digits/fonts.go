package digits

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path"
	"strings"
	"sync"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomediumitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/gomonobolditalic"
	"golang.org/x/image/font/gofont/gomonoitalic"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/gofont/gosmallcaps"
	"golang.org/x/image/font/gofont/gosmallcapsitalic"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"

	"github.com/vlpuda/vlpuda/internal/detmath"
)

// Face is a font face that digits can be rendered from.
type Face struct {
	// Name identifies the face, such as "goregular" or "DejaVuSans-Bold".
	Name string
	// Font is the parsed TrueType or OpenType font.
	Font *opentype.Font
}

var (
	goFacesOnce sync.Once
	goFaces     []Face
)

// GoFaces returns the twelve faces of the Go font family
// (golang.org/x/image/font/gofont), which are compiled into the binary and
// so always available.
func GoFaces() []Face {
	goFacesOnce.Do(func() {
		for _, f := range []struct {
			name string
			ttf  []byte
		}{
			{"goregular", goregular.TTF}, {"gobold", gobold.TTF},
			{"goitalic", goitalic.TTF}, {"gobolditalic", gobolditalic.TTF},
			{"gomedium", gomedium.TTF}, {"gomediumitalic", gomediumitalic.TTF},
			{"gomono", gomono.TTF}, {"gomonobold", gomonobold.TTF},
			{"gomonoitalic", gomonoitalic.TTF}, {"gomonobolditalic", gomonobolditalic.TTF},
			{"gosmallcaps", gosmallcaps.TTF}, {"gosmallcapsitalic", gosmallcapsitalic.TTF},
		} {
			ft, err := opentype.Parse(f.ttf)
			if err != nil {
				panic("digits: parsing the embedded Go font " + f.name + ": " + err.Error())
			}
			goFaces = append(goFaces, Face{Name: f.name, Font: ft})
		}
	})
	return append([]Face(nil), goFaces...)
}

// DebianFaces returns the pinned Debian font faces (DejaVu, Liberation,
// Comic Neue, Humor Sans) found in the cache under cacheDir (empty:
// DefaultCacheDir) or installed on the system. Faces that could not be read
// are left out and reported together in the error, so a caller that can do
// with fewer faces may use the faces and accept an error that wraps only
// ErrNotFetched.
func DebianFaces(cacheDir string) ([]Face, error) {
	faces, errs := debianFaces(cacheDir)
	return faces, errors.Join(errs...)
}

// debianFaces is DebianFaces with one error per face not read.
func debianFaces(cacheDir string) ([]Face, []error) {
	cacheDir, err := resolveCacheDir(cacheDir)
	if err != nil {
		return nil, []error{err}
	}
	var faces []Face
	var errs []error
	for _, f := range filesOf(kindFont) {
		b, err := readDebFile(cacheDir, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ft, err := opentype.Parse(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("digits: parsing %s: %w", f.name(), err))
			continue
		}
		faces = append(faces, Face{Name: strings.TrimSuffix(f.base(), path.Ext(f.base())), Font: ft})
	}
	return faces, errs
}

// RenderOptions controls RenderDigits. Zero fields take the defaults given.
type RenderOptions struct {
	// PerClass is the number of images of each digit (default 500).
	PerClass int
	// Size is the side of the square image in pixels (default 28).
	Size int
	// Seed and Split select the random streams: image i draws from a PCG
	// stream keyed by Seed, Split and i.
	Seed  uint64
	Split Split
	// MinBox and MaxBox bound the longer side of the glyph's ink box as a
	// fraction of Size (defaults 0.6 and 0.78: 17 to 22 pixels of 28, MNIST
	// fits its digits into 20).
	MinBox, MaxBox float64
	// Jitter is the largest shift of the ink's centre of mass from the
	// image centre, as a fraction of Size (default 0.07: 2 pixels of 28;
	// negative for none).
	Jitter float64
	// MaxRotation is the largest rotation in degrees, either way (default
	// 0, upright).
	MaxRotation float64
}

// withDefaults returns o with its zero fields set.
func (o RenderOptions) withDefaults() RenderOptions {
	if o.PerClass == 0 {
		o.PerClass = 500
	}
	if o.Size == 0 {
		o.Size = 28
	}
	if o.Split == "" {
		o.Split = Train
	}
	if o.MinBox == 0 {
		o.MinBox = 0.6
	}
	if o.MaxBox == 0 {
		o.MaxBox = 0.78
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = 0.07
	case o.Jitter < 0:
		o.Jitter = 0
	}
	return o
}

// glyphEm is the size in pixels at which glyphs are rasterised before they
// are scaled down, so the final image is antialiased by the resampling.
const glyphEm = 64

// RenderDigits renders 10*PerClass images of the digits 0 to 9, white on
// black like MNIST, label i%10 for image i. Each image draws a face
// uniformly from faces, a box size, a rotation and a shift: the glyph is
// scaled (x/image/draw.BiLinear) so that its ink box's longer side equals
// the box size, and placed with its centre of mass at the image centre
// plus the shift. The same faces and options give the same images, on
// every GOARCH: the glyphs come from drawGlyph, and x/image/draw's
// resamplers (v0.48.0) convert every product that meets a sum, as this
// package does.
func RenderDigits(faces []Face, opt RenderOptions) (*Dataset, error) {
	if len(faces) == 0 {
		return nil, errors.New("digits: RenderDigits: no font faces")
	}
	o := opt.withDefaults()
	if o.PerClass < 0 || o.Size < 0 || o.MinBox > o.MaxBox {
		return nil, fmt.Errorf("digits: RenderDigits: bad options %+v", opt)
	}
	glyphs := make([][10]Glyph, len(faces))
	names := make([]string, len(faces))
	for i, f := range faces {
		for d := range 10 {
			g, err := RasterizeGlyph(f, rune('0'+d), 0)
			if err != nil {
				return nil, err
			}
			glyphs[i][d] = g
		}
		names[i] = f.Name
	}
	n := 10 * o.PerClass
	d := &Dataset{
		Name: Fonts, Split: o.Split,
		Width: o.Size, Height: o.Size, Channels: 1,
		Pixels: make([]uint8, n*o.Size*o.Size), Labels: make([]int, n),
		Classes: Classes,
		Sources: []string{fmt.Sprintf("fonts (seed %d): %s", o.Seed, strings.Join(names, ", "))},
	}
	stream := o.Split.streamIndex()
	parallel(n, func(lo, hi int) {
		dst := image.NewGray(image.Rect(0, 0, o.Size, o.Size))
		for i := lo; i < hi; i++ {
			rng := rand.New(rand.NewPCG(o.Seed, uint64(i)<<2|stream))
			label := i % 10
			g := glyphs[rng.IntN(len(faces))][label]
			// Every product that meets a sum is converted, so that no
			// compiler fuses the two (arm64 would, into one rounding).
			box := float64(o.Size) * (o.MinBox + float64((o.MaxBox-o.MinBox)*rng.Float64()))
			theta := o.MaxRotation * signed(rng) * math.Pi / 180
			jx := float64(float64(o.Size) * o.Jitter * signed(rng))
			jy := float64(float64(o.Size) * o.Jitter * signed(rng))

			// s2d maps a glyph point p to centre + R(theta)*k*(p - centre of mass).
			k := box / g.Side
			sin, cos := detmath.Sincos(theta)
			a, b, c, e := k*cos, -k*sin, k*sin, k*cos
			tx := float64(o.Size)/2 + jx - float64(float64(a*g.CX)+float64(b*g.CY))
			ty := float64(o.Size)/2 + jy - float64(float64(c*g.CX)+float64(e*g.CY))
			clear(dst.Pix)
			draw.BiLinear.Transform(dst, f64.Aff3{a, b, tx, c, e, ty}, g.Ink, g.Ink.Rect, draw.Src, nil)
			copy(d.Image(i), dst.Pix)
			d.Labels[i] = label
		}
	})
	return d, nil
}

// signed draws uniformly from [-1, 1).
func signed(rng *rand.Rand) float64 { return float64(2*rng.Float64()) - 1 }

// ErrNoGlyph reports a character a face cannot draw: no glyph, or one
// without ink (a space).
var ErrNoGlyph = errors.New("no glyph")

// Glyph is a character rasterised at GlyphEm pixels.
type Glyph struct {
	// Ink is the rasterised glyph cropped to its ink box grown by the
	// margin asked for (and clipped to the drawn canvas).
	Ink *image.Alpha
	// CX and CY are the centre of mass of the ink, in Ink's coordinates.
	CX, CY float64
	// Side is the longer side of the ink box, without the margin.
	Side float64
}

// GlyphEm is the size in pixels at which glyphs are rasterised before they
// are scaled down, so the final images are antialiased by the resampling.
const GlyphEm = glyphEm

// RasterizeGlyph draws r from face f at GlyphEm pixels and crops it to its
// ink plus margin pixels on every side (room for thickening the strokes).
// A face without ink for r gives an error wrapping ErrNoGlyph.
func RasterizeGlyph(f Face, r rune, margin int) (Glyph, error) {
	var buf sfnt.Buffer
	idx, err := f.Font.GlyphIndex(&buf, r)
	if err != nil || idx == 0 {
		return Glyph{}, fmt.Errorf("digits: font %s: %q: %w", f.Name, r, ErrNoGlyph)
	}
	face, err := opentype.NewFace(f.Font, &opentype.FaceOptions{Size: glyphEm, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return Glyph{}, fmt.Errorf("digits: font %s: %w", f.Name, err)
	}
	defer face.Close()
	bounds, _ := font.BoundString(face, string(r))
	pad := max(margin, 1)
	rect := image.Rect(bounds.Min.X.Floor()-pad, bounds.Min.Y.Floor()-pad, bounds.Max.X.Ceil()+pad, bounds.Max.Y.Ceil()+pad)
	canvas := image.NewAlpha(rect)
	if err := drawGlyph(canvas, f.Font, idx, fixed.I(glyphEm)); err != nil {
		return Glyph{}, fmt.Errorf("digits: font %s: %q: %w", f.Name, r, err)
	}

	ink := image.Rectangle{}
	var sum, sx, sy float64
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			v := float64(canvas.AlphaAt(x, y).A)
			if v == 0 {
				continue
			}
			ink = ink.Union(image.Rect(x, y, x+1, y+1))
			sum += v
			sx += float64(v * (float64(x) + 0.5))
			sy += float64(v * (float64(y) + 0.5))
		}
	}
	if sum == 0 {
		return Glyph{}, fmt.Errorf("digits: font %s draws no ink for %q: %w", f.Name, r, ErrNoGlyph)
	}
	return Glyph{
		Ink:  canvas.SubImage(ink.Inset(-margin).Intersect(rect)).(*image.Alpha),
		CX:   sx / sum,
		CY:   sy / sum,
		Side: float64(max(ink.Dx(), ink.Dy())),
	}, nil
}
