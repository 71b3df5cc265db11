package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
)

// IsHF reports whether s uses Hugging Face transformers CLIPModel names.
func IsHF(s *StateDict) bool {
	for _, t := range s.Tensors {
		if strings.HasPrefix(t.Name, "text_model.") || strings.HasPrefix(t.Name, "vision_model.") {
			return true
		}
	}
	return false
}

// hfTop maps whole HF names to OpenAI names.
var hfTop = map[string]string{
	"logit_scale": "logit_scale",
	"text_model.embeddings.token_embedding.weight":      "token_embedding.weight",
	"text_model.embeddings.position_embedding.weight":   "positional_embedding",
	"text_model.final_layer_norm.weight":                "ln_final.weight",
	"text_model.final_layer_norm.bias":                  "ln_final.bias",
	"text_projection.weight":                            "text_projection",
	"vision_model.embeddings.class_embedding":           "visual.class_embedding",
	"vision_model.embeddings.patch_embedding.weight":    "visual.conv1.weight",
	"vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
	"vision_model.pre_layrnorm.weight":                  "visual.ln_pre.weight", // HF's spelling
	"vision_model.pre_layrnorm.bias":                    "visual.ln_pre.bias",
	"vision_model.post_layernorm.weight":                "visual.ln_post.weight",
	"vision_model.post_layernorm.bias":                  "visual.ln_post.bias",
	"visual_projection.weight":                          "visual.proj",
}

// hfTransposed are the HF Linear weights [embed, width] that OpenAI stores
// as projections [width, embed], used as x @ P.
var hfTransposed = map[string]bool{"text_projection.weight": true, "visual_projection.weight": true}

// hfDropped are HF buffers with no OpenAI counterpart.
var hfDropped = map[string]bool{
	"text_model.embeddings.position_ids":   true,
	"vision_model.embeddings.position_ids": true,
}

// hfLayerPrefix maps the encoder layer prefixes of the two towers.
var hfLayerPrefix = [...][2]string{
	{"text_model.encoder.layers.", "transformer.resblocks."},
	{"vision_model.encoder.layers.", "visual.transformer.resblocks."},
}

// hfLayer maps names inside one encoder layer.
var hfLayer = map[string]string{
	"layer_norm1.weight":        "ln_1.weight",
	"layer_norm1.bias":          "ln_1.bias",
	"layer_norm2.weight":        "ln_2.weight",
	"layer_norm2.bias":          "ln_2.bias",
	"self_attn.out_proj.weight": "attn.out_proj.weight",
	"self_attn.out_proj.bias":   "attn.out_proj.bias",
	"mlp.fc1.weight":            "mlp.c_fc.weight",
	"mlp.fc1.bias":              "mlp.c_fc.bias",
	"mlp.fc2.weight":            "mlp.c_proj.weight",
	"mlp.fc2.bias":              "mlp.c_proj.bias",
}

// hfQKV gives, for each separate HF projection, the fused OpenAI tensor
// and the block it fills: rows q, then k, then v.
var hfQKV = map[string]struct {
	fused string
	part  int
}{
	"self_attn.q_proj.weight": {"attn.in_proj_weight", 0},
	"self_attn.k_proj.weight": {"attn.in_proj_weight", 1},
	"self_attn.v_proj.weight": {"attn.in_proj_weight", 2},
	"self_attn.q_proj.bias":   {"attn.in_proj_bias", 0},
	"self_attn.k_proj.bias":   {"attn.in_proj_bias", 1},
	"self_attn.v_proj.bias":   {"attn.in_proj_bias", 2},
}

// FromHF returns s renamed from Hugging Face transformers CLIPModel names
// to OpenAI CLIP names (clip-architecture.md §9): the q/k/v projections of
// each attention layer are stacked into in_proj_weight [3d, d] and
// in_proj_bias [3d], text_projection.weight and visual_projection.weight
// are transposed to text_projection and visual.proj [width, embed], and the
// position_ids buffers are dropped. Tensors keep the order of their first
// HF part. A name outside the mapping, a missing q, k or v part, or a shape
// that does not fit is an error naming the tensor. s is not modified; the
// result reads its values from s's file, and closing either closes both.
func FromHF(s *StateDict) (*StateDict, error) {
	out := &StateDict{Format: s.Format, Metadata: s.Metadata, closer: s.closer}
	type fusedParts struct {
		index int        // position in out.Tensors
		parts [3]*Tensor // q, k, v
	}
	fused := make(map[string]*fusedParts)
	seen := make(map[string]bool)
	add := func(t Tensor) error {
		if seen[t.Name] {
			return fmt.Errorf("checkpoint: FromHF: two tensors map to %q", t.Name)
		}
		seen[t.Name] = true
		out.Tensors = append(out.Tensors, t)
		return nil
	}

	for i := range s.Tensors {
		t := &s.Tensors[i]
		if hfDropped[t.Name] {
			continue
		}
		if name, ok := hfTop[t.Name]; ok {
			r := *t
			r.Name = name
			if hfTransposed[t.Name] {
				var err error
				if r, err = transposed(r); err != nil {
					return nil, err
				}
			}
			if err := add(r); err != nil {
				return nil, err
			}
			continue
		}
		prefix, layer, rest, ok := splitLayer(t.Name)
		if !ok {
			return nil, fmt.Errorf("checkpoint: FromHF: no OpenAI name for %q", t.Name)
		}
		if name, ok := hfLayer[rest]; ok {
			r := *t
			r.Name = prefix + layer + "." + name
			if err := add(r); err != nil {
				return nil, err
			}
			continue
		}
		q, ok := hfQKV[rest]
		if !ok {
			return nil, fmt.Errorf("checkpoint: FromHF: no OpenAI name for %q", t.Name)
		}
		name := prefix + layer + "." + q.fused
		f := fused[name]
		if f == nil {
			f = &fusedParts{index: len(out.Tensors)}
			fused[name] = f
			if err := add(Tensor{Name: name}); err != nil { // filled below
				return nil, err
			}
		}
		if f.parts[q.part] != nil {
			return nil, fmt.Errorf("checkpoint: FromHF: %q appears twice", t.Name)
		}
		f.parts[q.part] = t
	}

	for name, f := range fused {
		t, err := stack(name, f.parts)
		if err != nil {
			return nil, err
		}
		out.Tensors[f.index] = t
	}
	return out, nil
}

// splitLayer splits "text_model.encoder.layers.3.mlp.fc1.weight" into the
// OpenAI prefix "transformer.resblocks.", the index "3" and "mlp.fc1.weight".
func splitLayer(name string) (prefix, layer, rest string, ok bool) {
	for _, p := range hfLayerPrefix {
		tail, found := strings.CutPrefix(name, p[0])
		if !found {
			continue
		}
		layer, rest, found = strings.Cut(tail, ".")
		if !found || layer == "" || strings.Trim(layer, "0123456789") != "" {
			return "", "", "", false
		}
		return p[1], layer, rest, true
	}
	return "", "", "", false
}

// transposed returns the 2-D tensor t transposed.
func transposed(t Tensor) (Tensor, error) {
	if len(t.Shape) != 2 {
		return Tensor{}, fmt.Errorf("checkpoint: FromHF: %s has shape %s, want a matrix", t.Name, shapefmt.String(t.Shape))
	}
	rows, cols := t.Shape[0], t.Shape[1]
	src := t
	t.Shape = []int{cols, rows}
	t.read = func(dst []float32) error {
		v, err := src.Values()
		if err != nil {
			return err
		}
		for r := range rows {
			for c := range cols {
				dst[c*rows+r] = v[r*cols+c]
			}
		}
		return nil
	}
	return t, nil
}

// stack concatenates q, k and v along their first axis: each part is read
// into its third of the destination.
func stack(name string, parts [3]*Tensor) (Tensor, error) {
	for i, p := range parts {
		if p == nil {
			return Tensor{}, fmt.Errorf("checkpoint: FromHF: %s: the %c projection is missing", name, "qkv"[i])
		}
	}
	q := parts[0]
	for _, p := range parts[1:] {
		if !slices.Equal(p.Shape, q.Shape) || len(q.Shape) == 0 {
			return Tensor{}, fmt.Errorf("checkpoint: FromHF: %s: q, k and v shapes %s, %s, %s differ or are scalars",
				name, shapefmt.String(parts[0].Shape), shapefmt.String(parts[1].Shape), shapefmt.String(parts[2].Shape))
		}
	}
	shape := slices.Clone(q.Shape)
	shape[0] *= 3
	per := q.Len()
	return Tensor{Name: name, Shape: shape, DType: q.DType, read: func(dst []float32) error {
		for i, p := range parts {
			if err := p.ReadInto(dst[i*per : (i+1)*per]); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}
