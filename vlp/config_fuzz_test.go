package vlp

import (
	"fmt"
	"testing"
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
