package vlp

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
)

// Config holds the constructor arguments of OpenAI's CLIP class. Its JSON
// form is the "constructor" object of the fixtures' config.json, with
// vision_layers an int for a ViT and a list of four ints for a ResNet, and
// vision_patch_size null for a ResNet.
type Config struct {
	EmbedDim          int   `json:"embed_dim"`
	ImageResolution   int   `json:"image_resolution"`
	VisionLayers      []int `json:"-"` // one entry for a ViT, four for a ResNet
	VisionWidth       int   `json:"vision_width"`
	VisionPatchSize   int   `json:"vision_patch_size"` // 0 for a ResNet
	ContextLength     int   `json:"context_length"`
	VocabSize         int   `json:"vocab_size"`
	TransformerWidth  int   `json:"transformer_width"`
	TransformerHeads  int   `json:"transformer_heads"`
	TransformerLayers int   `json:"transformer_layers"`
}

// IsResNet reports whether the image tower is a ModifiedResNet.
func (c Config) IsResNet() bool { return len(c.VisionLayers) == 4 }

// VisionHeads returns the image tower's head count as CLIP derives it:
// width/64 for a ViT and 32·width/64 for a ResNet's attention pool.
func (c Config) VisionHeads() int {
	if c.IsResNet() {
		return c.VisionWidth * 32 / 64
	}
	return c.VisionWidth / 64
}

// Limits that Validate puts on a Config, so that no configuration asks for
// an absurd model before anything is allocated. They are far above the
// largest CLIP models: open_clip's ViT-bigG/14 (48 image layers of width
// 1664, 32 text layers of width 1280, 2.5 G parameters) and OpenAI's
// RN50x64 (stages of 3, 15, 36 and 10 blocks, resolution 448). A config
// given with a checkpoint is held to the checkpoint's shapes too (Load).
const (
	MaxLayers     = 256     // vision_layers (each stage of a ResNet) and transformer_layers
	MaxWidth      = 16384   // vision_width, transformer_width and embed_dim
	MaxResolution = 4096    // image_resolution
	MaxGrid       = 128     // image_resolution over the patch size (over 32 for a ResNet)
	MaxContext    = 4096    // context_length
	MaxVocab      = 1 << 20 // vocab_size
	MaxParams     = 1 << 32 // parameters, as ApproxParams counts them
)

// Validate reports the first inconsistency in c, or the first size over
// its limit.
func (c Config) Validate() error {
	sizes := []struct {
		name   string
		v, max int
	}{
		{"embed_dim", c.EmbedDim, MaxWidth},
		{"image_resolution", c.ImageResolution, MaxResolution},
		{"vision_width", c.VisionWidth, MaxWidth},
		{"context_length", c.ContextLength, MaxContext},
		{"vocab_size", c.VocabSize, MaxVocab},
		{"transformer_width", c.TransformerWidth, MaxWidth},
		{"transformer_heads", c.TransformerHeads, MaxWidth},
		{"transformer_layers", c.TransformerLayers, MaxLayers},
	}
	for _, s := range sizes {
		if s.v <= 0 || s.v > s.max {
			return fmt.Errorf("vlp: config: %s = %d, want 1 to %d", s.name, s.v, s.max)
		}
	}
	for _, n := range c.VisionLayers {
		if n < 0 || n > MaxLayers {
			return fmt.Errorf("vlp: config: vision_layers %v, want each 0 to %d", c.VisionLayers, MaxLayers)
		}
	}
	switch len(c.VisionLayers) {
	case 1:
		if c.VisionPatchSize <= 0 || c.ImageResolution%c.VisionPatchSize != 0 {
			return fmt.Errorf("vlp: config: ViT resolution %d is not a multiple of patch size %d", c.ImageResolution, c.VisionPatchSize)
		}
		if g := c.ImageResolution / c.VisionPatchSize; g > MaxGrid {
			return fmt.Errorf("vlp: config: ViT resolution %d over patch size %d is a grid of %d, more than %d", c.ImageResolution, c.VisionPatchSize, g, MaxGrid)
		}
		if h := c.VisionHeads(); h < 1 || c.VisionWidth%h != 0 {
			return fmt.Errorf("vlp: config: ViT width %d gives %d heads", c.VisionWidth, h)
		}
	case 4:
		if c.ImageResolution%32 != 0 {
			return fmt.Errorf("vlp: config: ResNet resolution %d is not a multiple of 32", c.ImageResolution)
		}
		if g := c.ImageResolution / 32; g > MaxGrid {
			return fmt.Errorf("vlp: config: ResNet resolution %d is a grid of %d, more than %d", c.ImageResolution, g, MaxGrid)
		}
	default:
		return fmt.Errorf("vlp: config: vision_layers has %d entries, want 1 (ViT) or 4 (ResNet)", len(c.VisionLayers))
	}
	if c.TransformerWidth%c.TransformerHeads != 0 {
		return fmt.Errorf("vlp: config: text width %d is not divisible into %d heads", c.TransformerWidth, c.TransformerHeads)
	}
	if n := c.ApproxParams(); n > MaxParams {
		return fmt.Errorf("vlp: config: the model would hold about %d parameters, more than the limit of %d", n, int64(MaxParams))
	}
	return nil
}

// ApproxParams returns about how many parameters a model of configuration
// c holds, without building it: the weight matrices, convolutions,
// embeddings and biases, not the normalisation layers, so never more than
// the true count. It needs c's sizes to be within the limits above.
func (c Config) ApproxParams() int64 {
	block := func(w int64) int64 { return 12*w*w + 9*w } // attention and MLP
	e, tw := int64(c.EmbedDim), int64(c.TransformerWidth)
	n := int64(c.TransformerLayers)*block(tw) + int64(c.VocabSize+c.ContextLength)*tw + tw*e
	w := int64(c.VisionWidth)
	if c.IsResNet() {
		for s, blocks := range c.VisionLayers {
			planes := w << s
			n += int64(blocks) * 13 * planes * planes // 1×1, 3×3 and 1×1 to 4·planes
		}
		d, g := 32*w, int64(c.ImageResolution/32)
		return n + 3*d*d + d*e + (g*g+1)*d // attention pool
	}
	if len(c.VisionLayers) == 1 && c.VisionPatchSize > 0 {
		p, g := int64(c.VisionPatchSize), int64(c.ImageResolution/c.VisionPatchSize)
		n += int64(c.VisionLayers[0])*block(w) + 3*p*p*w + (g*g+1)*w + w*e
	}
	return n
}

// MarshalJSON writes the constructor object.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	m := map[string]any{}
	b, _ := json.Marshal(plain(c))
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if c.IsResNet() {
		m["vision_layers"] = c.VisionLayers
		m["vision_patch_size"] = nil
	} else if len(c.VisionLayers) == 1 {
		m["vision_layers"] = c.VisionLayers[0]
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the constructor object.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var aux struct {
		plain
		VisionLayers    json.RawMessage `json:"vision_layers"`
		VisionPatchSize *int            `json:"vision_patch_size"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Config(aux.plain)
	if aux.VisionPatchSize != nil {
		c.VisionPatchSize = *aux.VisionPatchSize
	}
	var one int
	var four []int
	switch {
	case json.Unmarshal(aux.VisionLayers, &one) == nil:
		c.VisionLayers = []int{one}
	case json.Unmarshal(aux.VisionLayers, &four) == nil:
		c.VisionLayers = four
	default:
		return fmt.Errorf("vision_layers %s is neither an int nor a list of ints", aux.VisionLayers)
	}
	return nil
}

// MaxConfigFile is the largest config file ReadConfig reads: 1 MiB (the
// fixtures' config.json takes 2 KiB).
const MaxConfigFile = 1 << 20

// ReadConfig reads a JSON file holding either the constructor object itself
// or an object with a "constructor" field (the fixtures' config.json).
func ReadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("vlp: read config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigFile+1))
	if err != nil {
		return Config{}, fmt.Errorf("vlp: read config %s: %w", path, err)
	}
	if len(b) > MaxConfigFile {
		return Config{}, fmt.Errorf("vlp: read config %s: larger than the limit of %d bytes", path, MaxConfigFile)
	}
	var wrapped struct {
		Constructor *Config `json:"constructor"`
	}
	var c Config
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Constructor != nil {
		c = *wrapped.Constructor
	} else if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("vlp: read config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// InferConfig derives the configuration from a state dict's names and
// shapes the way OpenAI's build_model does, including its assumption that
// the text tower has width/64 heads (wrong for small models: pass an
// explicit config for those).
func InferConfig(sd map[string]*tensor.Tensor) (Config, error) {
	return inferConfig(shapesOf(sd))
}

// shapesOf returns the shapes of the tensors of sd by name.
func shapesOf(sd map[string]*tensor.Tensor) map[string][]int {
	shapes := make(map[string][]int, len(sd))
	for name, t := range sd {
		shapes[name] = t.Shape()
	}
	return shapes
}

// inferConfig is InferConfig from the shapes of a state dict's tensors.
func inferConfig(sd map[string][]int) (Config, error) {
	shape := func(name string) ([]int, error) {
		s, ok := sd[name]
		if !ok {
			return nil, fmt.Errorf("vlp: infer config: state dict has no %q", name)
		}
		return s, nil
	}
	var c Config
	var err error
	get := func(name string, dims int) []int {
		if err != nil {
			return nil
		}
		var s []int
		if s, err = shape(name); err == nil && len(s) < dims {
			err = fmt.Errorf("vlp: infer config: %q has shape %s", name, shapefmt.String(s))
		}
		return s
	}
	if _, vit := sd["visual.proj"]; vit {
		conv := get("visual.conv1.weight", 4)
		pos := get("visual.positional_embedding", 2)
		if err != nil {
			return c, err
		}
		c.VisionWidth = conv[0]
		c.VisionPatchSize = conv[3]
		grid := int(math.Round(math.Sqrt(float64(pos[0] - 1))))
		c.ImageResolution = c.VisionPatchSize * grid
		c.VisionLayers = []int{countIndices(sd, vitBlock)}
	} else {
		conv := get("visual.layer1.0.conv1.weight", 4)
		pos := get("visual.attnpool.positional_embedding", 2)
		if err != nil {
			return c, err
		}
		c.VisionWidth = conv[0]
		c.ImageResolution = 32 * int(math.Round(math.Sqrt(float64(pos[0]-1))))
		c.VisionLayers = make([]int, 4)
		for s := range 4 {
			c.VisionLayers[s] = countIndices(sd, resnetStage[s])
		}
	}
	proj := get("text_projection", 2)
	pos := get("positional_embedding", 2)
	tok := get("token_embedding.weight", 2)
	ln := get("ln_final.weight", 1)
	if err != nil {
		return c, err
	}
	c.EmbedDim = proj[1]
	c.ContextLength = pos[0]
	c.VocabSize = tok[0]
	c.TransformerWidth = ln[0]
	c.TransformerHeads = c.TransformerWidth / 64
	c.TransformerLayers = countIndices(sd, textBlock)
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%w; the state dict does not determine it: pass a config file", err)
	}
	return c, nil
}

// The names of the blocks of each tower; the first capture group is the
// block's index.
var (
	vitBlock    = regexp.MustCompile(`^visual\.transformer\.resblocks\.(\d+)\.attn\.in_proj_weight$`)
	textBlock   = regexp.MustCompile(`^transformer\.resblocks\.(\d+)\.`)
	resnetStage = [4]*regexp.Regexp{
		regexp.MustCompile(`^visual\.layer1\.(\d+)\.`), regexp.MustCompile(`^visual\.layer2\.(\d+)\.`),
		regexp.MustCompile(`^visual\.layer3\.(\d+)\.`), regexp.MustCompile(`^visual\.layer4\.(\d+)\.`),
	}
)

// countIndices returns the number of distinct values of the first capture
// group of re over the state dict's names.
func countIndices(sd map[string][]int, re *regexp.Regexp) int {
	var seen []string
	for name := range sd {
		if m := re.FindStringSubmatch(name); m != nil && !slices.Contains(seen, m[1]) {
			seen = append(seen, m[1])
		}
	}
	return len(seen)
}

// String formats the configuration on one line.
func (c Config) String() string {
	tower := fmt.Sprintf("ViT %d layers, width %d, patch %d", c.VisionLayers[0], c.VisionWidth, c.VisionPatchSize)
	if c.IsResNet() {
		tower = fmt.Sprintf("ModifiedResNet %v, width %d", c.VisionLayers, c.VisionWidth)
	}
	return strings.Join([]string{
		tower,
		fmt.Sprintf("resolution %d", c.ImageResolution),
		fmt.Sprintf("text %d layers, width %d, %d heads", c.TransformerLayers, c.TransformerWidth, c.TransformerHeads),
		fmt.Sprintf("embed %d", c.EmbedDim),
	}, "; ")
}

func sqrt(x float64) float64 { return math.Sqrt(x) }

// Configurations of OpenAI's released models, for benchmarks and for
// building models of the real size with random weights.
var (
	ViTB32 = Config{EmbedDim: 512, ImageResolution: 224, VisionLayers: []int{12}, VisionWidth: 768, VisionPatchSize: 32,
		ContextLength: 77, VocabSize: 49408, TransformerWidth: 512, TransformerHeads: 8, TransformerLayers: 12}
	ViTB16 = Config{EmbedDim: 512, ImageResolution: 224, VisionLayers: []int{12}, VisionWidth: 768, VisionPatchSize: 16,
		ContextLength: 77, VocabSize: 49408, TransformerWidth: 512, TransformerHeads: 8, TransformerLayers: 12}
	RN50 = Config{EmbedDim: 1024, ImageResolution: 224, VisionLayers: []int{3, 4, 6, 3}, VisionWidth: 64,
		ContextLength: 77, VocabSize: 49408, TransformerWidth: 512, TransformerHeads: 8, TransformerLayers: 12}
)
