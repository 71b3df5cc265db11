package pretrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// ContextLength is the text context of the teacher: the longest corpus
// caption takes 20 tokens with SOT and EOT (a test checks it).
const ContextLength = 24

// ResNetConfig is the default teacher: a ModifiedResNet image tower with
// one bottleneck per stage at stem width 16 (1.36 M parameters; its
// attention pool works on the 1×1 map of a 32-pixel image), and a
// three-layer text transformer of width 64 with two heads over CLIP's full
// 49,408-token vocabulary (3.3 M parameters, 3.2 M of them the token
// embedding). 4.7 M parameters, 18.7 MB in float32.
func ResNetConfig() vlp.Config {
	return vlp.Config{
		EmbedDim: 128, ImageResolution: 32, VisionLayers: []int{1, 1, 1, 1}, VisionWidth: 16,
		ContextLength: ContextLength, VocabSize: 49408, TransformerWidth: 64, TransformerHeads: 2, TransformerLayers: 3,
	}
}

// ViTConfig is the ViT alternative to ResNetConfig, of similar size: four
// layers of width 128 (two heads) over 4×4 patches of a 32-pixel image
// (0.82 M parameters in the image tower), with the same text tower.
func ViTConfig() vlp.Config {
	c := ResNetConfig()
	c.VisionLayers, c.VisionWidth, c.VisionPatchSize = []int{4}, 128, 4
	return c
}

// Save writes m to path as vlp.Save does (OpenAI names, float32, the
// config under vlp.ConfigKey, so vlp.Load reads it like any checkpoint)
// and adds PreprocessKey = PreprocessStandardize and the entries of meta
// to the metadata. The file appears complete or not at all; an existing
// file is replaced only if overwrite is set.
func Save(path string, m *vlp.CLIP, meta map[string]string, overwrite bool) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return fmt.Errorf("pretrain: save %s: config: %w", path, err)
	}
	sd := nn.StateDict(m)
	tensors := make([]safetensors.Tensor, 0, len(sd))
	for name, t := range sd {
		tensors = append(tensors, safetensors.FromFloat32(name, t.Shape(), t.Values()))
	}
	all := maps.Clone(meta)
	if all == nil {
		all = map[string]string{}
	}
	all["format"] = "pt"
	all[vlp.ConfigKey] = string(cfg)
	all[PreprocessKey] = PreprocessStandardize
	write := safetensors.WriteFile
	if overwrite {
		write = safetensors.ReplaceFile
	}
	if err := write(path, tensors, all); err != nil {
		return fmt.Errorf("pretrain: save: %w", err)
	}
	return nil
}

// ErrPreprocess reports a checkpoint that does not say it expects
// Standardize's preprocessing.
var ErrPreprocess = errors.New("not a vlpuda teacher checkpoint")

// Load reads a teacher checkpoint with vlp.Load and checks that its
// metadata names PreprocessStandardize; it returns the model and the
// metadata.
func Load(path string) (*vlp.CLIP, map[string]string, error) {
	meta, err := safetensors.ReadMetadata(path)
	if err != nil {
		return nil, nil, fmt.Errorf("pretrain: load %s: %w", path, err)
	}
	if p := meta[PreprocessKey]; p != PreprocessStandardize {
		return nil, nil, fmt.Errorf("pretrain: load %s: metadata %s is %q, want %q: %w", path, PreprocessKey, p, PreprocessStandardize, ErrPreprocess)
	}
	m, _, err := vlp.Load(path, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("pretrain: %w", err)
	}
	nn.SetTraining(m, false)
	return m, meta, nil
}

// LoadFaces returns the Go faces and the Debian faces found in the cache
// under cacheDir (empty: digits.DefaultCacheDir) or installed. Debian faces
// that are not fetched are left out; a damaged one is an error.
func LoadFaces(cacheDir string) ([]digits.Face, error) {
	deb, err := digits.DebianFaces(cacheDir)
	if err != nil && !onlyNotFetched(err) {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	return append(digits.GoFaces(), deb...), nil
}

// LoadPhotos returns the photos of digits.CorpusPool, or none if they are
// not fetched; a damaged photo is an error.
func LoadPhotos(cacheDir string) ([]digits.Photo, error) {
	ps, err := digits.LoadPhotos(cacheDir, digits.CorpusPool)
	if err != nil {
		if errors.Is(err, digits.ErrNotFetched) {
			return nil, nil
		}
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	return ps, nil
}

// onlyNotFetched reports whether err, possibly a join of errors, consists
// only of errors wrapping digits.ErrNotFetched.
func onlyNotFetched(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyNotFetched(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, digits.ErrNotFetched)
}
