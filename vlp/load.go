package vlp

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/vlpuda/vlpuda/internal/hugepage"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp/checkpoint"
)

// Checkpoint describes a loaded model file.
type Checkpoint struct {
	Path   string
	Format checkpoint.Format
	// DTypes counts the tensors by the element type the file stored.
	DTypes map[string]int
	// HF reports that the names were Hugging Face transformers names.
	HF bool
	// SavedConfig reports that the architecture came from the config that
	// Save stores in the file's metadata.
	SavedConfig bool
}

// jitScalars are the int64 entries OpenAI's TorchScript archives add to the
// state dict; the reference loader drops them.
var jitScalars = []string{"input_resolution", "context_length", "vocab_size"}

// Load reads a CLIP checkpoint in any supported format (OpenAI TorchScript
// .pt, torch.save state dicts such as open_clip's, safetensors with OpenAI or
// Hugging Face names) and builds the model. cfg, if not nil, gives the
// architecture; otherwise it is the config Save stored in the file, if any,
// or else it is inferred from the tensor shapes as OpenAI's build_model
// does. Every tensor of the model must be present with the right shape.
//
// Everything is checked from the file's index before any value is read;
// then the model is built without initialising its weights and each tensor
// is decoded from the file straight into its parameter, so that loading
// holds little more than the float32 weights.
func Load(path string, cfg *Config) (*CLIP, *Checkpoint, error) {
	sd, m, info, err := openModel(path, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer sd.Close()
	if err := fill(sd, nn.StateDict(m)); err != nil {
		return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
	}
	return m, info, nil
}

// fill reads each tensor of sd that params holds into it, on
// kernels.Threads() goroutines that take the tensors in file order. The
// parameters are first marked for huge pages all together (package
// hugepage), while still untouched (the model was built without values):
// allocated one after the other, they mostly lie back to back, and the
// huge pages across their boundaries are then marked too. The error is
// that of the first tensor, in file order, that failed.
func fill(sd *checkpoint.StateDict, params map[string]*tensor.Tensor) error {
	type job struct {
		t   *checkpoint.Tensor
		dst []float32
	}
	var jobs []job
	var dsts [][]float32
	for i := range sd.Tensors {
		if p, ok := params[sd.Tensors[i].Name]; ok {
			jobs = append(jobs, job{&sd.Tensors[i], p.Data()})
			dsts = append(dsts, p.Data())
		}
	}
	hugepage.Advise(dsts...)
	errs := make([]error, len(jobs))
	var next atomic.Int64
	// One chunk per worker; each takes the next tensor until none is left.
	kernels.ParallelFor(min(kernels.Threads(), len(jobs)), 1, func(int, int) {
		for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
			errs[i] = jobs[i].t.ReadInto(jobs[i].dst)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// openModel opens the checkpoint at path and builds its model, with cfg as
// in Load, without reading a value: the model's weights are zero, and
// every one of its tensors is in sd (but for a ResNet's unused
// num_batches_tracked) with the right shape. The caller closes sd.
func openModel(path string, cfg *Config) (*checkpoint.StateDict, *CLIP, *Checkpoint, error) {
	sd, err := checkpoint.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, info, err := buildModel(sd, path, cfg)
	if err != nil {
		sd.Close()
		return nil, nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
	}
	return sd, m, info, nil
}

// buildModel normalises the names of sd and builds the model they fit.
func buildModel(sd *checkpoint.StateDict, path string, cfg *Config) (*CLIP, *Checkpoint, error) {
	info := &Checkpoint{Path: path, Format: sd.Format, DTypes: map[string]int{}}
	for _, prefix := range []string{"state_dict.", "module."} {
		if _, err := sd.TrimPrefix(prefix); err != nil {
			return nil, nil, err
		}
	}
	if checkpoint.IsHF(sd) {
		info.HF = true
		hf, err := checkpoint.FromHF(sd)
		if err != nil {
			return nil, nil, err
		}
		*sd = *hf
	}
	shapes := make(map[string][]int, len(sd.Tensors))
	for _, t := range sd.Tensors {
		info.DTypes[t.DType.String()]++
		shapes[t.Name] = t.Shape
	}
	for _, name := range jitScalars {
		delete(shapes, name)
	}
	if cfg == nil && sd.Format == checkpoint.Safetensors {
		var err error
		if cfg, err = savedConfig(sd.Metadata); err != nil {
			return nil, nil, err
		}
		info.SavedConfig = cfg != nil
	}
	var c Config
	if cfg != nil {
		c = *cfg
	} else {
		var err error
		if c, err = inferConfig(shapes); err != nil {
			return nil, nil, err
		}
	}
	if err := checkShapes(c, shapes); err != nil {
		return nil, nil, err
	}
	m, err := newModel(c, nil)
	if err != nil {
		return nil, nil, err
	}
	// ResNet checkpoints made without running statistics tracking lack
	// num_batches_tracked; it is unused, so tolerate its absence.
	for name, t := range nn.StateDict(m) {
		if _, ok := shapes[name]; !ok && strings.HasSuffix(name, ".num_batches_tracked") {
			shapes[name] = t.Shape()
		}
	}
	if err := nn.CheckStateDict(m, shapes, false); err != nil {
		return nil, nil, err
	}
	return m, info, nil
}

// CheckShapes reports the first size of c that disagrees with the state
// dict sd, naming the field, before a model is built: each size that a
// tensor of sd determines must match it, and where sd lacks such a tensor
// the model may still hold no more than about twice the parameters of sd
// (by Config.ApproxParams), so that a config cannot make Load allocate far
// more than the checkpoint holds. The head count of the text tower is not
// in the shapes; Validate bounds it by the width.
func CheckShapes(c Config, sd map[string]*tensor.Tensor) error {
	return checkShapes(c, shapesOf(sd))
}

// checkShapes is CheckShapes from the shapes of a state dict's tensors.
func checkShapes(c Config, sd map[string][]int) error {
	if err := c.Validate(); err != nil {
		return err
	}
	have := shapeSizes(sd)
	if have.VisionLayers != nil && c.IsResNet() != have.IsResNet() {
		towers := map[bool]string{false: "ViT", true: "ResNet"}
		return fmt.Errorf("vlp: config: vision_layers %v describes a %s but the checkpoint holds a %s image tower",
			c.VisionLayers, towers[c.IsResNet()], towers[have.IsResNet()])
	}
	for i, got := range have.VisionLayers {
		if n := c.VisionLayers[i]; n != got {
			where := "visual blocks"
			if c.IsResNet() {
				where = fmt.Sprintf("blocks in visual.layer%d", i+1)
			}
			return fmt.Errorf("vlp: config: vision_layers %v but the checkpoint holds %d %s", c.VisionLayers, got, where)
		}
	}
	fields := []struct {
		name      string
		v, got    int
		from, dim string
	}{
		{"vision_width", c.VisionWidth, have.VisionWidth, "the image tower's", "width"},
		{"vision_patch_size", c.VisionPatchSize, have.VisionPatchSize, "the image tower's", "patch size"},
		{"image_resolution", c.ImageResolution, have.ImageResolution, "the image positional embedding's", "resolution"},
		{"embed_dim", c.EmbedDim, have.EmbedDim, "text_projection's", "width"},
		{"context_length", c.ContextLength, have.ContextLength, "positional_embedding's", "length"},
		{"vocab_size", c.VocabSize, have.VocabSize, "token_embedding's", "size"},
		{"transformer_width", c.TransformerWidth, have.TransformerWidth, "ln_final's", "width"},
		{"transformer_layers", c.TransformerLayers, have.TransformerLayers, "text blocks", "count"},
	}
	for _, f := range fields {
		if f.got >= 0 && f.v != f.got {
			return fmt.Errorf("vlp: config: %s %d but the checkpoint holds %d (%s %s)", f.name, f.v, f.got, f.from, f.dim)
		}
	}
	var held int64
	for _, shape := range sd {
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		held += n
	}
	if n := c.ApproxParams(); n > 2*held+1<<20 {
		return fmt.Errorf("vlp: config: the model would hold about %d parameters but the checkpoint holds only %d", n, held)
	}
	return nil
}

// shapeSizes returns the sizes that the tensor shapes of sd determine, the
// way InferConfig reads them; a size whose tensor is missing is -1, and a
// layer count is the number of blocks present. VisionLayers is nil when
// sd holds no tensor that tells a ViT from a ResNet. TransformerHeads is
// unset.
func shapeSizes(sd map[string][]int) Config {
	dim := func(name string, axis int) int {
		if s, ok := sd[name]; ok && axis < len(s) {
			return s[axis]
		}
		return -1
	}
	grid := func(name string) int {
		n := dim(name, 0)
		if n < 1 {
			return -1
		}
		return int(math.Round(math.Sqrt(float64(n - 1))))
	}
	c := Config{
		EmbedDim:          dim("text_projection", 1),
		ContextLength:     dim("positional_embedding", 0),
		VocabSize:         dim("token_embedding.weight", 0),
		TransformerWidth:  dim("ln_final.weight", 0),
		TransformerLayers: countIndices(sd, textBlock),
		ImageResolution:   -1,
	}
	has := func(name string) bool { _, ok := sd[name]; return ok }
	switch {
	case has("visual.attnpool.positional_embedding") || has("visual.layer1.0.conv1.weight"):
		c.VisionWidth = dim("visual.layer1.0.conv1.weight", 0)
		c.VisionPatchSize = -1 // a ResNet has none, whatever its config says
		if g := grid("visual.attnpool.positional_embedding"); g >= 0 {
			c.ImageResolution = 32 * g
		}
		c.VisionLayers = make([]int, 4)
		for s := range 4 {
			c.VisionLayers[s] = countIndices(sd, resnetStage[s])
		}
	case has("visual.proj") || has("visual.class_embedding") || has("visual.positional_embedding"):
		c.VisionWidth = dim("visual.conv1.weight", 0)
		c.VisionPatchSize = dim("visual.conv1.weight", 3)
		if g := grid("visual.positional_embedding"); g >= 0 && c.VisionPatchSize >= 0 {
			c.ImageResolution = c.VisionPatchSize * g
		}
		c.VisionLayers = []int{countIndices(sd, vitBlock)}
	default:
		c.VisionWidth, c.VisionPatchSize = -1, -1
	}
	return c
}
