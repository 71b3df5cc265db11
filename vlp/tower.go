package vlp

import (
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/nn"
)

// NewImageEncoder returns the image tower of configuration c alone, with
// random weights drawn from rng: what training the image encoder needs,
// without the text tower's memory. A nil rng leaves them zero (see package
// nn), for a checkpoint to fill.
func NewImageEncoder(c Config, rng *rand.Rand) (ImageEncoder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.IsResNet() {
		return nn.NewModifiedResNet(rng, nn.ResNetConfig{
			Layers: [4]int(c.VisionLayers), Width: c.VisionWidth, Resolution: c.ImageResolution,
			Heads: c.VisionHeads(), Embed: c.EmbedDim,
		}), nil
	}
	return nn.NewVisionTransformer(rng, nn.ViTConfig{
		Resolution: c.ImageResolution, Patch: c.VisionPatchSize, Width: c.VisionWidth,
		Layers: c.VisionLayers[0], Heads: c.VisionHeads(), Embed: c.EmbedDim,
	}), nil
}
