package vlp

import (
	"fmt"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/nn"
)

// Summary describes a loaded checkpoint and its model, as "vlpuda inspect"
// shows it.
type Summary struct {
	Path   string         `json:"path"`
	Format string         `json:"format"`
	DTypes map[string]int `json:"dtypes"` // tensors by stored element type
	HF     bool           `json:"hf_names"`
	// ConfigSource says where the architecture came from: "given",
	// "saved" (the file's metadata, see Save) or "inferred" (the shapes).
	ConfigSource string `json:"config_source"`
	Config       Config `json:"config"`
	Architecture string `json:"architecture"` // Config.String
	ImageTower   string `json:"image_tower"`  // "VisionTransformer" or "ModifiedResNet"
	Resolution   int    `json:"image_resolution"`
	EmbedDim     int    `json:"embed_dim"`
	// Params counts every parameter element; VisualParams those of the
	// image tower and TextParams those of the text tower (transformer,
	// embeddings, ln_final, text_projection). The difference is the logit
	// scale. Buffers such as BatchNorm statistics are not parameters.
	Params       int `json:"params"`
	VisualParams int `json:"visual_params"`
	TextParams   int `json:"text_params"`
	// LogitScale is exp(logit_scale), the multiplier of the cosine
	// similarities.
	LogitScale float64 `json:"logit_scale"`
}

// Inspect describes the checkpoint at path, with cfg as in Load, from the
// file's index: it makes every check Load makes before reading values
// (names, shapes, architecture) but reads only the logit scale's value, so
// that it answers at once whatever the size of the file.
func Inspect(path string, cfg *Config) (*Summary, error) {
	sd, m, info, err := openModel(path, cfg)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	if t := sd.Get("logit_scale"); t != nil {
		if err := t.ReadInto(m.LogitScale.Data()); err != nil {
			return nil, fmt.Errorf("vlp: inspect %s: %w", path, err)
		}
	}
	s := &Summary{
		Path: info.Path, Format: info.Format.String(), DTypes: info.DTypes, HF: info.HF,
		ConfigSource: "inferred",
		Config:       m.Config, Architecture: m.Config.String(),
		ImageTower: "VisionTransformer",
		Resolution: m.Config.ImageResolution, EmbedDim: m.Config.EmbedDim,
		Params:       nn.CountParams(m),
		VisualParams: nn.CountParams(m.Visual),
		TextParams: nn.CountParams(m.Transformer) + nn.CountParams(m.TokenEmbedding) + nn.CountParams(m.LnFinal) +
			m.PositionalEmbedding.Numel() + m.TextProjection.Numel(),
		LogitScale: detmath.Exp(float64(m.LogitScale.Item())),
	}
	switch {
	case cfg != nil:
		s.ConfigSource = "given"
	case info.SavedConfig:
		s.ConfigSource = "saved"
	}
	if m.Config.IsResNet() {
		s.ImageTower = "ModifiedResNet"
	}
	return s, nil
}
