package vlp

import (
	"fmt"
	"math/rand/v2"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// ImageEncoder is CLIP's image tower: nn.VisionTransformer or
// nn.ModifiedResNet.
type ImageEncoder interface {
	nn.Module
	// Forward maps normalised images (N, 3, R, R) to features (N, embed).
	Forward(images *tensor.Tensor) *tensor.Tensor
	// SetTap sets a callback that receives named intermediate activations
	// (nil to stop), for debugging against a reference implementation.
	SetTap(tap func(name string, x *tensor.Tensor))
}

// CLIP is OpenAI's CLIP model: an image tower and a text tower projecting
// into one embedding space, with a learned logit scale. Field and parameter
// names follow clip/model.py so that state dicts load by name.
type CLIP struct {
	Config Config

	Visual              ImageEncoder
	Transformer         *nn.Transformer
	TokenEmbedding      *nn.Embedding
	PositionalEmbedding *tensor.Tensor // (context, width)
	LnFinal             *nn.LayerNorm
	TextProjection      *tensor.Tensor // (width, embed)
	LogitScale          *tensor.Tensor // scalar, the log of the scale

	mask *tensor.Tensor // causal (context, context)
}

// New returns a CLIP model of the given configuration with random weights
// drawn from seed.
func New(c Config, seed uint64) (*CLIP, error) {
	return newModel(c, tensor.NewRNG(seed))
}

// newModel builds the model with weights drawn from rng; with a nil rng
// they are left zero (see package nn), for a checkpoint to fill.
func newModel(c Config, rng *rand.Rand) (*CLIP, error) {
	visual, err := NewImageEncoder(c, rng)
	if err != nil {
		return nil, err
	}
	m := &CLIP{Config: c, Visual: visual}
	w := c.TransformerWidth
	m.Transformer = nn.NewTransformer(rng, w, c.TransformerLayers, c.TransformerHeads)
	m.TokenEmbedding = nn.NewEmbedding(rng, c.VocabSize, w)
	if rng != nil {
		scale(m.TokenEmbedding.Weight, 0.02)
		m.PositionalEmbedding = scale(tensor.RandN(rng, c.ContextLength, w), 0.01)
		m.TextProjection = scale(tensor.RandN(rng, w, c.EmbedDim), float32(1/sqrt(float64(w))))
	} else {
		m.PositionalEmbedding = tensor.Zeros(c.ContextLength, w)
		m.TextProjection = tensor.Zeros(w, c.EmbedDim)
	}
	m.PositionalEmbedding.SetRequiresGrad(true)
	m.TextProjection.SetRequiresGrad(true)
	m.LnFinal = nn.NewLayerNorm(w, 1e-5)
	m.LogitScale = tensor.Scalar(float32(logInvTemp)).SetRequiresGrad(true)
	m.mask = nn.CausalMask(c.ContextLength)
	return m, nil
}

// logInvTemp is CLIP's initial logit scale, ln(1/0.07).
const logInvTemp = 2.6592600824046783

func scale(t *tensor.Tensor, s float32) *tensor.Tensor {
	d := t.Data()
	for i := range d {
		d[i] *= s
	}
	return t
}

// Params lists positional_embedding, text_projection and logit_scale.
func (m *CLIP) Params(visit func(string, *tensor.Tensor)) {
	visit("positional_embedding", m.PositionalEmbedding)
	visit("text_projection", m.TextProjection)
	visit("logit_scale", m.LogitScale)
}

// Children lists visual, transformer, token_embedding and ln_final.
func (m *CLIP) Children(visit func(string, nn.Module)) {
	visit("visual", m.Visual)
	visit("transformer", m.Transformer)
	visit("token_embedding", m.TokenEmbedding)
	visit("ln_final", m.LnFinal)
}

// EncodeImage maps normalised images (N, 3, R, R) to features (N, embed),
// not normalised. For inference pass images.Inference(): the features are
// then an inference tensor and nothing is recorded (tensor.Inference).
func (m *CLIP) EncodeImage(images *tensor.Tensor) *tensor.Tensor {
	r := m.Config.ImageResolution
	if s := images.Shape(); len(s) != 4 || s[1] != 3 || s[2] != r || s[3] != r {
		panic(fmt.Sprintf("vlp: EncodeImage: images of shape %s, want (N, 3, %d, %d)", shapefmt.String(s), r, r))
	}
	return m.Visual.Forward(images)
}

// EncodeText maps token ids (N rows of context length, as Tokenize makes
// them) to features (N, embed), not normalised. Each row is pooled at its
// largest id, the end-of-text token. The graph is recorded when the text
// tower's parameters require gradients; EncodeTextInference records none.
func (m *CLIP) EncodeText(ids [][]int32) (*tensor.Tensor, error) {
	return m.encodeText(ids, false, nil)
}

// EncodeTextInference is EncodeText for inference: the features are an
// inference tensor (tensor.Inference) and nothing is recorded, whether or
// not the parameters require gradients.
func (m *CLIP) EncodeTextInference(ids [][]int32) (*tensor.Tensor, error) {
	return m.encodeText(ids, true, nil)
}

// encodeText is EncodeText, or EncodeTextInference if inference. tap, if
// not nil, receives the text tower's activations.
func (m *CLIP) encodeText(ids [][]int32, inference bool, tap func(string, *tensor.Tensor)) (*tensor.Tensor, error) {
	n, l := len(ids), m.Config.ContextLength
	flat := make([]int, 0, n*l)
	eot := make([]int, n)
	for i, row := range ids {
		if len(row) != l {
			return nil, fmt.Errorf("vlp: encode text: row %d has %d tokens, want %d", i, len(row), l)
		}
		for j, id := range row {
			if id < 0 || int(id) >= m.Config.VocabSize {
				return nil, fmt.Errorf("vlp: encode text: row %d: token %d out of the vocabulary (size %d)", i, id, m.Config.VocabSize)
			}
			if id > row[eot[i]] {
				eot[i] = j
			}
			flat = append(flat, int(id))
		}
	}
	x := m.TokenEmbedding.Forward(flat, n, l)
	if inference {
		x = x.Inference()
	}
	x = tensor.Add(x, m.PositionalEmbedding)
	if tap != nil {
		// Set only when tapping, so that concurrent encodings do not
		// write the shared model.
		m.Transformer.Tap = tap
		defer func() { m.Transformer.Tap = nil }()
	}
	x = m.Transformer.Forward(x, m.mask)
	x = m.LnFinal.Forward(x)
	if tap != nil {
		tap("ln_final_out", x)
	}
	// Pool row i at position eot[i]: gather from the (N·L, W) view.
	idx := make([]int, n)
	for i, p := range eot {
		idx[i] = i*l + p
	}
	pooled := tensor.IndexSelect(x.Reshape(n*l, -1), 0, idx)
	return tensor.MatMul(pooled, m.TextProjection), nil
}

// Logits returns exp(logit_scale)·normalise(img)·normalise(txt)ᵀ, the
// (N_img, N_txt) similarity logits of CLIP's forward.
func (m *CLIP) Logits(imageFeatures, textFeatures *tensor.Tensor) *tensor.Tensor {
	s := tensor.Exp(m.LogitScale)
	return tensor.Mul(tensor.MatMul(Normalize(imageFeatures), Normalize(textFeatures).T()), s)
}

// Normalize divides each row of x (N, D) by its L2 norm.
func Normalize(x *tensor.Tensor) *tensor.Tensor {
	norm := tensor.Sqrt(tensor.SumDim(tensor.Square(x), -1, true))
	return tensor.Div(x, norm)
}
