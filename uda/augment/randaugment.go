package augment

import (
	"fmt"
	"image"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// CLIPFill is the fill colour of the paper's strong view: CLIP's mean
// colour × 255, rounded, (123, 117, 104) (utils/FixMatch.py's img_mean).
var CLIPFill = [3]uint8{123, 117, 104}

// RandAugment is timm's RandAugment as the paper's code vendors it
// (utils/randaugment.py, config "rand-n2-m10-mstd0.5"): N operations are
// drawn uniformly, with replacement, from RandOps; each is then applied
// with probability 0.5 at a magnitude drawn from N(M, MStd²) and clipped
// to [0, 10].
//
// The magnitude m sets each operation's argument as timm's level
// functions do:
//
//	Rotate                ±30·m/10 degrees (sign drawn)
//	ShearX, ShearY        ±0.3·m/10 (sign drawn)
//	TranslateXRel, …YRel  ±0.45·m/10 of the width or height (sign drawn)
//	PosterizeTpu          int(4·m/10) bits kept
//	Solarize              threshold int(256·m/10)
//	SolarizeAdd           add int(110·m/10) below 128
//	Color, Contrast,      factor 0.1 + 1.8·m/10
//	Brightness, Sharpness
//	AutoContrast, Equalize, Invert: no argument
//
// The geometric operations draw PIL's bilinear or bicubic filter with
// equal odds (the paper's hyper-parameters name none) and fill what they
// uncover with Fill. A drawn sign negates with probability one half.
type RandAugment struct {
	N    int      // operations per image
	M    float64  // magnitude in [0, 10]
	MStd float64  // standard deviation of the magnitude; 0 keeps it fixed
	Fill [3]uint8 // colour of the area that geometric operations uncover
}

// FixMatchRandAugment returns the paper's RandAugment, rand-n2-m10-mstd0.5
// with CLIPFill.
func FixMatchRandAugment() RandAugment {
	return RandAugment{N: 2, M: 10, MStd: 0.5, Fill: CLIPFill}
}

// ParseRandAugment parses a timm RandAugment configuration such as
// "rand-n2-m10-mstd0.5": "rand", then dash-separated sections n<ops>,
// m<magnitude> (an integer, as timm reads it) and mstd<std>, in any order.
// Missing sections take timm's defaults, n2, m10 and mstd0. The weighted
// choice (w<index>) is not supported.
func ParseRandAugment(config string, fill [3]uint8) (RandAugment, error) {
	t := RandAugment{N: 2, M: 10, Fill: fill}
	sections := strings.Split(config, "-")
	if sections[0] != "rand" {
		return t, fmt.Errorf("augment: RandAugment config %q does not start with \"rand\"", config)
	}
	for _, s := range sections[1:] {
		m := sectionRE.FindStringSubmatch(s)
		if m == nil {
			return t, fmt.Errorf("augment: RandAugment config %q: section %q is not a key and a number", config, s)
		}
		key, val := m[1], m[2]
		var err error
		switch key {
		case "n":
			t.N, err = strconv.Atoi(val)
		case "m":
			var v int
			v, err = strconv.Atoi(val)
			t.M = float64(v)
		case "mstd":
			t.MStd, err = strconv.ParseFloat(val, 64)
		default:
			return t, fmt.Errorf("augment: RandAugment config %q: unsupported section %q (want n, m or mstd)", config, s)
		}
		if err != nil {
			return t, fmt.Errorf("augment: RandAugment config %q: section %q: %w", config, s, err)
		}
	}
	if t.N < 0 || t.M < 0 || t.M > 10 || t.MStd < 0 {
		return t, fmt.Errorf("augment: RandAugment config %q: want n ≥ 0, 0 ≤ m ≤ 10, mstd ≥ 0", config)
	}
	return t, nil
}

var sectionRE = regexp.MustCompile(`^([a-z]+)([0-9].*)$`)

// Apply draws the operations, then applies each with probability 0.5.
func (t RandAugment) Apply(img *image.RGBA, r *rand.Rand) *image.RGBA {
	ops := make([]int, t.N)
	for i := range ops {
		ops[i] = r.IntN(len(randOps))
	}
	for _, k := range ops {
		if r.Float64() > 0.5 {
			continue
		}
		m := t.M
		if t.MStd > 0 {
			m += float64(t.MStd * r.NormFloat64())
		}
		m = min(10, max(0, m))
		op := randOps[k]
		level := op.level(m)
		if op.signed && r.Float64() > 0.5 {
			level = -level
		}
		interp := Bilinear
		if op.geometric && r.IntN(2) == 1 {
			interp = Bicubic
		}
		img = op.apply(img, level, interp, t.Fill)
	}
	return img
}

func (t RandAugment) String() string {
	return fmt.Sprintf("RandAugment(rand-n%d-m%g-mstd%g, fill=%v)", t.N, t.M, t.MStd, t.Fill)
}

// RandOps names RandAugment's fifteen operations in timm's order
// (_RAND_TRANSFORMS): AutoContrast, Equalize, Invert, Rotate,
// PosterizeTpu, Solarize, SolarizeAdd, Color, Contrast, Brightness,
// Sharpness, ShearX, ShearY, TranslateXRel, TranslateYRel.
var RandOps = func() []string {
	names := make([]string, len(randOps))
	for i, op := range randOps {
		names[i] = op.name
	}
	return names
}()

// randOp is one RandAugment operation: level turns a magnitude into its
// argument, apply applies it.
type randOp struct {
	name      string
	signed    bool // the argument's sign is drawn
	geometric bool // the interpolation is drawn
	level     func(m float64) float64
	apply     func(img *image.RGBA, level float64, interp Interpolation, fill [3]uint8) *image.RGBA
}

var randOps = []randOp{
	{name: "AutoContrast", level: noLevel, apply: func(img *image.RGBA, _ float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return AutoContrast(img)
	}},
	{name: "Equalize", level: noLevel, apply: func(img *image.RGBA, _ float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return Equalize(img)
	}},
	{name: "Invert", level: noLevel, apply: func(img *image.RGBA, _ float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return Invert(img)
	}},
	{name: "Rotate", signed: true, geometric: true, level: scaled(30), apply: Rotate},
	{name: "PosterizeTpu", level: truncated(4), apply: func(img *image.RGBA, bits float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return Posterize(img, int(bits))
	}},
	{name: "Solarize", level: truncated(256), apply: func(img *image.RGBA, thresh float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return Solarize(img, int(thresh))
	}},
	{name: "SolarizeAdd", level: truncated(110), apply: func(img *image.RGBA, add float64, _ Interpolation, _ [3]uint8) *image.RGBA {
		return SolarizeAdd(img, int(add), 128)
	}},
	{name: "Color", level: enhanceLevel, apply: enhance(Color)},
	{name: "Contrast", level: enhanceLevel, apply: enhance(Contrast)},
	{name: "Brightness", level: enhanceLevel, apply: enhance(Brightness)},
	{name: "Sharpness", level: enhanceLevel, apply: enhance(Sharpness)},
	{name: "ShearX", signed: true, geometric: true, level: scaled(0.3), apply: ShearX},
	{name: "ShearY", signed: true, geometric: true, level: scaled(0.3), apply: ShearY},
	{name: "TranslateXRel", signed: true, geometric: true, level: scaled(0.45), apply: TranslateXRel},
	{name: "TranslateYRel", signed: true, geometric: true, level: scaled(0.45), apply: TranslateYRel},
}

func noLevel(float64) float64 { return 0 }

// scaled is timm's (m/10)·max.
func scaled(maxArg float64) func(float64) float64 {
	return func(m float64) float64 { return float64(m / 10 * maxArg) }
}

// truncated is timm's int((m/10)·max).
func truncated(maxArg float64) func(float64) float64 {
	return func(m float64) float64 { return float64(int(m / 10 * maxArg)) }
}

// enhanceLevel is timm's (m/10)·1.8 + 0.1, the factor range [0.1, 1.9].
func enhanceLevel(m float64) float64 { return float64(m/10*1.8) + 0.1 }

func enhance(f func(*image.RGBA, float64) *image.RGBA) func(*image.RGBA, float64, Interpolation, [3]uint8) *image.RGBA {
	return func(img *image.RGBA, factor float64, _ Interpolation, _ [3]uint8) *image.RGBA { return f(img, factor) }
}

// ShearX shears img horizontally: output (x, y) samples the input at
// x + factor·y (timm's shear_x, PIL's AFFINE (1, factor, 0, 0, 1, 0)).
func ShearX(img *image.RGBA, factor float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	return Affine(img, [6]float64{1, factor, 0, 0, 1, 0}, interp, fill)
}

// ShearY shears img vertically: output (x, y) samples the input at
// y + factor·x.
func ShearY(img *image.RGBA, factor float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	return Affine(img, [6]float64{1, 0, 0, factor, 1, 0}, interp, fill)
}

// TranslateXRel shifts img left by frac of its width (right for a negative
// frac): output x samples the input at x + frac·width (timm's
// translate_x_rel).
func TranslateXRel(img *image.RGBA, frac float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	w, _ := size(img)
	return Affine(img, [6]float64{1, 0, frac * float64(w), 0, 1, 0}, interp, fill)
}

// TranslateYRel shifts img up by frac of its height: output y samples the
// input at y + frac·height (timm's translate_y_rel).
func TranslateYRel(img *image.RGBA, frac float64, interp Interpolation, fill [3]uint8) *image.RGBA {
	_, h := size(img)
	return Affine(img, [6]float64{1, 0, 0, 0, 1, frac * float64(h)}, interp, fill)
}
