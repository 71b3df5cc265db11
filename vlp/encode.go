package vlp

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// encodeBatch bounds how many images or texts go through a tower at once,
// which bounds the activation memory of large inputs.
const encodeBatch = 32

// EncodeFile encodes the inputs in the safetensors file in with m and
// writes the features and logits to the safetensors file out. The names
// and conventions are those of the reference fixtures' inputs.safetensors
// and outputs.safetensors:
//
//	in   images            F32 (N, 3, R, R), already normalised; R is the model's resolution
//	     text              I32 or I64 (M, context), token ids as Tokenize makes them
//	out  image_features    F32 (N, embed), not normalised
//	     text_features     F32 (M, embed), not normalised
//	     logits_per_image  F32 (N, M), exp(logit_scale)·cosine similarity
//	     logits_per_text   F32 (M, N), its transpose
//	     logit_scale_exp   F32 scalar, exp(logit_scale)
//
// Either input may be absent; then only the other's features (and the
// scale) are written. The model runs as it is, without gradients (Load
// returns it in evaluation mode).
//
// Every input is checked before anything is computed, and each problem is
// an error naming the file. The output appears complete or not at all; if
// out exists, EncodeFile fails with an error wrapping fs.ErrExist unless
// overwrite is set.
func EncodeFile(m *CLIP, in, out string, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("vlp: encode: %s: %w (overwrite it with force)", out, fs.ErrExist)
		}
	}
	f, err := safetensors.ReadFile(in)
	if err != nil {
		return fmt.Errorf("vlp: encode: %w", err)
	}
	images, ids, err := m.encodeInputs(f)
	if err != nil {
		return fmt.Errorf("vlp: encode: %s: %w", in, err)
	}
	var results []safetensors.Tensor
	var img, txt *tensor.Tensor
	scale := tensor.Exp(m.LogitScale.Detach())
	results = append(results, safetensors.FromFloat32("logit_scale_exp", nil, scale.Values()))
	// Every batch is inference: pack the weights of the towers in use once
	// rather than in each product (see nn.PackWeights).
	if images != nil {
		defer nn.PackWeights(m.Visual)()
	}
	if ids != nil {
		defer nn.PackWeights(m.Transformer)()
	}
	if images != nil {
		img = encodeBatches(images.Dim(0), func(i, n int) *tensor.Tensor {
			return m.EncodeImage(images.Narrow(0, i, n).Contiguous().Inference())
		})
		results = append(results, featureTensor("image_features", img))
	}
	if ids != nil {
		txt = encodeBatches(len(ids), func(i, n int) *tensor.Tensor {
			x, err := m.EncodeTextInference(ids[i : i+n])
			if err != nil {
				// encodeInputs checked every id and row length.
				panic(fmt.Sprintf("vlp: EncodeFile: %v", err))
			}
			return x
		})
		results = append(results, featureTensor("text_features", txt))
	}
	if img != nil && txt != nil {
		logits := m.Logits(img, txt)
		results = append(results, featureTensor("logits_per_image", logits),
			featureTensor("logits_per_text", logits.T()))
	}
	write := safetensors.WriteFile
	if overwrite {
		write = safetensors.ReplaceFile
	}
	if err := write(out, results, nil); err != nil {
		return fmt.Errorf("vlp: encode: %w", err)
	}
	return nil
}

// encodeBatches runs encode on [i, i+n) slices of n ≤ encodeBatch rows
// and concatenates the results along the first dimension.
func encodeBatches(rows int, encode func(i, n int) *tensor.Tensor) *tensor.Tensor {
	var parts []*tensor.Tensor
	for i := 0; i < rows; i += encodeBatch {
		parts = append(parts, encode(i, min(encodeBatch, rows-i)))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return tensor.Concat(0, parts...)
}

func featureTensor(name string, x *tensor.Tensor) safetensors.Tensor {
	return safetensors.FromFloat32(name, x.Shape(), x.Values())
}

// encodeInputs checks the "images" and "text" tensors of f against m and
// returns them as an image batch and rows of ids; either may be nil, not
// both.
func (m *CLIP) encodeInputs(f *safetensors.File) (*tensor.Tensor, [][]int32, error) {
	st, sf := f.Tensor("images"), f.Tensor("text")
	if st == nil && sf == nil {
		return nil, nil, fmt.Errorf(`neither "images" nor "text" is present (tensors: %d)`, len(f.Tensors))
	}
	var images *tensor.Tensor
	if st != nil {
		r := m.Config.ImageResolution
		if st.DType != dtype.Float32 {
			return nil, nil, fmt.Errorf("images are %s, want F32 (normalised float32)", st.DType)
		}
		if s := st.Shape; len(s) != 4 || s[0] < 1 || s[1] != 3 || s[2] != r || s[3] != r {
			return nil, nil, fmt.Errorf("images have shape %s, want [N 3 %d %d] with N ≥ 1 for this model (resolution %d)", shapefmt.String(s), r, r, r)
		}
		images = tensor.New(st.Float32(), st.Shape...)
	}
	var ids [][]int32
	if sf != nil {
		var err error
		if ids, err = m.tokenRows(sf); err != nil {
			return nil, nil, err
		}
	}
	return images, ids, nil
}

// tokenRows reads an I32 or I64 (M, context) tensor of token ids and
// checks each id against the vocabulary.
func (m *CLIP) tokenRows(t *safetensors.Tensor) ([][]int32, error) {
	l, vocab := m.Config.ContextLength, m.Config.VocabSize
	if t.DType != dtype.Int32 && t.DType != dtype.Int64 {
		return nil, fmt.Errorf("text is %s, want I32 or I64 token ids", t.DType)
	}
	if s := t.Shape; len(s) != 2 || s[0] < 1 || s[1] != l {
		return nil, fmt.Errorf("text has shape %s, want [M %d] with M ≥ 1 (the model's context length is %d)", shapefmt.String(s), l, l)
	}
	size := t.DType.Size()
	rows := make([][]int32, t.Shape[0])
	for i := range rows {
		rows[i] = make([]int32, l)
		for j := range l {
			b := t.Data[(i*l+j)*size:]
			var id int64
			if t.DType == dtype.Int32 {
				id = int64(int32(binary.LittleEndian.Uint32(b)))
			} else {
				id = int64(binary.LittleEndian.Uint64(b))
			}
			if id < 0 || id >= int64(vocab) {
				return nil, fmt.Errorf("text row %d, position %d: id %d is outside the vocabulary [0, %d)", i, j, id, vocab)
			}
			rows[i][j] = int32(id)
		}
	}
	return rows, nil
}
