package vlp

import (
	"fmt"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// FuzzConfig builds models from fuzzed small configurations, as a config
// file or a state dict's shapes may give them: a configuration that
// Validate accepts must build (New) without panicking, and one that it
// refuses must be refused by New too.
func FuzzConfig(f *testing.F) {
	f.Add(uint8(8), uint8(32), uint8(1), uint8(1), uint8(64), uint8(16), uint8(8), uint8(10), uint8(64), uint8(1), uint8(1), false)
	f.Add(uint8(8), uint8(64), uint8(1), uint8(2), uint8(8), uint8(0), uint8(8), uint8(10), uint8(16), uint8(2), uint8(1), true)
	f.Fuzz(func(t *testing.T, embed, res, l0, l1, width, patch, ctx, vocab, twidth, theads, tlayers uint8, resnet bool) {
		c := Config{EmbedDim: int(embed % 20), ImageResolution: int(res % 80), VisionWidth: int(width % 140),
			VisionPatchSize: int(patch % 20), ContextLength: int(ctx % 12), VocabSize: int(vocab % 40),
			TransformerWidth: int(twidth % 80), TransformerHeads: int(theads % 5), TransformerLayers: int(tlayers % 3)}
		c.VisionLayers = []int{int(l0 % 3)}
		if resnet {
			c.VisionLayers = []int{int(l0 % 3), int(l1 % 3), int(l0/3) % 3, int(l1/3) % 3}
		}
		valid := c.Validate() == nil
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
					t.Fatalf("New(%+v) with Validate()=%v: %v", c, c.Validate(), err)
				}
			}()
			_, err = New(c, 1)
		}()
		if valid != (err == nil) {
			t.Fatalf("New(%+v): error %v, Validate %v", c, err, c.Validate())
		}
	})
}

// FuzzCheckShapes checks fuzzed configurations against the state dicts of
// a small ViT and a small ResNet. Each field is the model's own plus a
// fuzzed change of up to ±2³¹, so that most inputs change a few fields and
// reach each check: CheckShapes must not panic, and a configuration it
// accepts must build a model no larger than the state dict, which then
// loads into it.
func FuzzCheckShapes(f *testing.F) {
	vit := Config{EmbedDim: 16, ImageResolution: 32, VisionLayers: []int{2}, VisionWidth: 64, VisionPatchSize: 8,
		ContextLength: 7, VocabSize: 30, TransformerWidth: 32, TransformerHeads: 2, TransformerLayers: 2}
	rn := Config{EmbedDim: 16, ImageResolution: 64, VisionLayers: []int{1, 2, 1, 1}, VisionWidth: 4,
		ContextLength: 7, VocabSize: 30, TransformerWidth: 32, TransformerHeads: 2, TransformerLayers: 1}
	var sds []map[string]*tensor.Tensor
	var held []int
	for _, c := range []Config{vit, rn} {
		m, err := New(c, 1)
		if err != nil {
			f.Fatal(err)
		}
		sds = append(sds, nn.StateDict(m))
		held = append(held, nn.CountParams(m))
	}
	f.Add(int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), false)
	f.Add(int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), true)
	f.Add(int32(0), int32(0), int32(1e7), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), false)
	f.Add(int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(0), int32(-1), int32(0), true)
	f.Add(int32(0), int32(32), int32(0), int32(0), int32(0), int32(0), int32(0), int32(24), int32(0), int32(0), int32(0), int32(0), int32(0), false)
	f.Fuzz(func(t *testing.T, embed, res, l0, l1, l2, l3, width, patch, ctx, vocab, twidth, theads, tlayers int32, resnet bool) {
		base, i := vit, 0
		if resnet {
			base, i = rn, 1
		}
		add := func(v int, d int32) int { return v + int(d) }
		c := Config{EmbedDim: add(base.EmbedDim, embed), ImageResolution: add(base.ImageResolution, res),
			VisionWidth: add(base.VisionWidth, width), VisionPatchSize: add(base.VisionPatchSize, patch),
			ContextLength: add(base.ContextLength, ctx), VocabSize: add(base.VocabSize, vocab),
			TransformerWidth: add(base.TransformerWidth, twidth), TransformerHeads: add(base.TransformerHeads, theads),
			TransformerLayers: add(base.TransformerLayers, tlayers)}
		c.VisionLayers = []int{add(base.VisionLayers[0], l0)}
		if resnet {
			c.VisionLayers = []int{add(rn.VisionLayers[0], l0), add(rn.VisionLayers[1], l1), add(rn.VisionLayers[2], l2), add(rn.VisionLayers[3], l3)}
		}
		if err := CheckShapes(c, sds[i]); err != nil {
			return
		}
		m, err := New(c, 1)
		if err != nil {
			t.Fatalf("CheckShapes accepted %+v, New refused it: %v", c, err)
		}
		if n := nn.CountParams(m); n > held[i] {
			t.Fatalf("CheckShapes accepted %+v: %d parameters, the state dict holds %d", c, n, held[i])
		}
		if err := nn.LoadStateDict(m, sds[i], false); err != nil {
			t.Fatalf("CheckShapes accepted %+v, but: %v", c, err)
		}
	})
}
