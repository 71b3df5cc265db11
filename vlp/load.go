package vlp

import (
	"fmt"

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
func Load(path string, cfg *Config) (*CLIP, *Checkpoint, error) {
	sd, err := checkpoint.Open(path)
	if err != nil {
		return nil, nil, err
	}
	info := &Checkpoint{Path: path, Format: sd.Format, DTypes: map[string]int{}}
	for _, prefix := range []string{"state_dict.", "module."} {
		if _, err := sd.TrimPrefix(prefix); err != nil {
			return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
		}
	}
	if checkpoint.IsHF(sd) {
		info.HF = true
		if sd, err = checkpoint.FromHF(sd); err != nil {
			return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
		}
	}
	values := make(map[string]*tensor.Tensor, len(sd.Tensors))
	for _, t := range sd.Tensors {
		info.DTypes[t.DType.String()]++
		values[t.Name] = tensor.New(t.Data, t.Shape...)
	}
	for _, name := range jitScalars {
		delete(values, name)
	}
	if cfg == nil && sd.Format == checkpoint.Safetensors {
		if cfg, err = savedConfig(path); err != nil {
			return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
		}
		info.SavedConfig = cfg != nil
	}
	var c Config
	if cfg != nil {
		c = *cfg
	} else if c, err = InferConfig(values); err != nil {
		return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
	}
	m, err := newModel(c, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
	}
	// ResNet checkpoints made without running statistics tracking lack
	// num_batches_tracked; it is unused, so tolerate its absence.
	for name, t := range nn.StateDict(m) {
		if _, ok := values[name]; !ok && hasSuffix(name, ".num_batches_tracked") {
			values[name] = t
		}
	}
	if err := nn.LoadStateDict(m, values, false); err != nil {
		return nil, nil, fmt.Errorf("vlp: load %s: %w", path, err)
	}
	return m, info, nil
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
