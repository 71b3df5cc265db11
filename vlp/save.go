package vlp

import (
	"encoding/json"
	"fmt"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// ConfigKey is the safetensors metadata key under which Save stores the
// model's Config as JSON (the constructor object), so that Load needs no
// config file for vlpuda's own checkpoints.
const ConfigKey = "vlpuda.config"

// Save writes m's parameters and buffers to path as a safetensors file:
// OpenAI names, float32, with m.Config as JSON in the metadata under
// ConfigKey (and "format": "pt", which other safetensors readers expect).
// The file appears complete or not at all. If path exists, Save fails with
// an error wrapping fs.ErrExist unless overwrite is set.
func Save(path string, m *CLIP, overwrite bool) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return fmt.Errorf("vlp: save %s: config: %w", path, err)
	}
	sd := nn.StateDict(m)
	tensors := make([]safetensors.Tensor, 0, len(sd))
	for name, t := range sd {
		tensors = append(tensors, safetensors.FromFloat32(name, t.Shape(), t.Values()))
	}
	meta := map[string]string{"format": "pt", ConfigKey: string(cfg)}
	write := safetensors.WriteFile
	if overwrite {
		write = safetensors.ReplaceFile
	}
	if err := write(path, tensors, meta); err != nil {
		return fmt.Errorf("vlp: save: %w", err)
	}
	return nil
}

// savedConfig returns the configuration Save stored in the metadata of a
// safetensors file, or nil if it has none.
func savedConfig(meta map[string]string) (*Config, error) {
	s, ok := meta[ConfigKey]
	if !ok {
		return nil, nil
	}
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", ConfigKey, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", ConfigKey, err)
	}
	return &c, nil
}
