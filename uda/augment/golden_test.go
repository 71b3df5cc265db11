package augment

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/vlp"
)

// golden is testdata/golden.json, written by testdata/golden.py with PIL
// 9.4 and torchvision 0.14.
type golden struct {
	PIL    string                 `json:"pil"`
	Inputs map[string]goldenImage `json:"inputs"`
	Fill   [3]uint8               `json:"fill"`
	Cases  []struct {
		Name  string          `json:"name"`
		Input string          `json:"input"`
		Op    string          `json:"op"`
		Args  json.RawMessage `json:"args"`
		goldenImage
	} `json:"cases"`
}

type goldenImage struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Pix    []byte `json:"pix"` // RGB, base64 in the file
}

func (g goldenImage) rgba() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, g.Width, g.Height))
	for i := range g.Width * g.Height {
		copy(m.Pix[4*i:], g.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	return m
}

type goldenArgs struct {
	W, H, Size, Left, Top, N int
	Degrees, Factor, M       float64
	Negate                   bool
	Interp                   string
	Matrix                   [6]float64
}

// TestGolden compares every deterministic operation with PIL's and
// torchvision's output on the same input: all must be equal byte for byte.
func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatalf("golden file missing (make it with testdata/golden.py): %v", err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if g.Fill != CLIPFill {
		t.Errorf("golden fill %v, CLIPFill %v", g.Fill, CLIPFill)
	}
	ops := map[string]randOp{}
	for _, op := range randOps {
		ops["ra:"+op.name] = op
	}
	seen := map[string]bool{}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var a goldenArgs
			if err := json.Unmarshal(c.Args, &a); err != nil {
				t.Fatal(err)
			}
			in := g.Inputs[c.Input].rgba()
			var got *image.RGBA
			switch c.Op {
			case "resize":
				got = Resize{a.W, a.H}.Apply(in, nil)
			case "resize_shorter":
				got = ResizeShorter{a.Size}.Apply(in, nil)
			case "center_crop":
				got = CenterCrop{a.W, a.H}.Apply(in, nil)
			case "crop":
				got = Crop(in, a.Left, a.Top, a.W, a.H)
			case "resized_crop":
				got = vlp.ResizeBilinear(Crop(in, a.Left, a.Top, a.W, a.H), a.Size, a.Size)
			case "hflip":
				got = FlipHorizontal(in)
			case "pad":
				got = Pad{a.N}.Apply(in, nil)
			case "affine":
				interp := map[string]Interpolation{"nearest": Nearest, "bilinear": Bilinear, "bicubic": Bicubic}[a.Interp]
				got = Affine(in, a.Matrix, interp, CLIPFill)
			case "rotate_nearest":
				got = Rotate(in, a.Degrees, Nearest, [3]uint8{})
			case "brightness":
				got = Brightness(in, a.Factor)
			case "contrast":
				got = Contrast(in, a.Factor)
			case "saturation":
				got = Color(in, a.Factor)
			case "hue":
				got = AdjustHue(in, a.Factor)
			default:
				op, ok := ops[c.Op]
				if !ok {
					t.Fatalf("unknown op %q", c.Op)
				}
				seen[op.name] = true
				level := op.level(a.M)
				if a.Negate {
					level = -level
				}
				interp := map[string]Interpolation{"bilinear": Bilinear, "bicubic": Bicubic}[a.Interp]
				got = op.apply(in, level, interp, CLIPFill)
			}
			want := c.rgba()
			if diff := compareImages(got, want); diff != "" {
				t.Error(diff)
			}
		})
	}
	for _, name := range RandOps {
		if !seen[name] {
			t.Errorf("no golden case for RandAugment's %s", name)
		}
	}
}

// compareImages reports how got differs from want: size, or the number of
// differing channel values, the largest difference and the first place.
func compareImages(got, want *image.RGBA) string {
	got = origin(got)
	gw, gh := size(got)
	ww, wh := size(want)
	if gw != ww || gh != wh {
		return fmt.Sprintf("size %dx%d, want %dx%d", gw, gh, ww, wh)
	}
	var n, worst int
	var first string
	for i := range got.Pix {
		if i%4 == 3 {
			if got.Pix[i] != 255 {
				return fmt.Sprintf("alpha %d at pixel %d, want 255", got.Pix[i], i/4)
			}
			continue
		}
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d == 0 {
			continue
		}
		n++
		worst = max(worst, d, -d)
		if first == "" {
			p := i / 4
			first = fmt.Sprintf("(%d, %d) channel %d: got %d, want %d", p%gw, p/gw, i%4, got.Pix[i], want.Pix[i])
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d values differ, by up to %d; first at %s", n, 3*gw*gh, worst, first)
}

// TestGoldenCoversOps keeps the generator and the op list in step.
func TestGoldenCoversOps(t *testing.T) {
	src, err := os.ReadFile("testdata/golden.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range RandOps {
		if !strings.Contains(string(src), `"`+name+`"`) {
			t.Errorf("golden.py does not mention %s", name)
		}
	}
}
