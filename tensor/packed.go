package tensor

import (
	"fmt"

	"github.com/vlpuda/vlpuda/kernels"
)

// PackedWeight is the weight (out, in) of a Linear layer packed into the
// layout the GEMM kernels read. Linear copies its weight into that layout
// on every call, and for a small batch the copy takes as long as a good
// part of the product; a model that runs only inference can pack each
// weight once instead. The methods of a PackedWeight compute what Linear,
// LinearQuickGELU and LinearAdd compute, with the same bits, but record no
// graph: a packed weight has no gradient.
type PackedWeight struct {
	w       *Tensor
	pb      *kernels.PackedB
	inPlace bool
}

// PackWeight packs the weight w (out, in) for inference. When w is
// contiguous and out is a multiple of 32, the packed values take w's own
// storage, so packing costs no memory: w and its views then hold them in
// the kernels' order and must not be used until Unpack. Otherwise they are
// a copy and w is left as it was.
func PackWeight(w *Tensor) *PackedWeight {
	if w.NDim() != 2 {
		panic(fmt.Sprintf("tensor: PackWeight: weight has shape %s, want (out, in)", shapeString(w.shape)))
	}
	out, in := w.shape[0], w.shape[1]
	if w.IsContiguous() && out%32 == 0 {
		return &PackedWeight{w: w, pb: kernels.PackBInPlace(w.Data(), out, in), inPlace: true}
	}
	return &PackedWeight{w: w, pb: kernels.PackB(true, in, out, w.Detach().Contiguous().Data(), in)}
}

// Unpack ends the packing and returns the weight, its values back in
// place bit for bit. p must not be used afterwards.
func (p *PackedWeight) Unpack() *Tensor {
	if p.inPlace {
		p.pb.UnpackInPlace()
	}
	w := p.w
	p.w, p.pb = nil, nil
	return w
}

// Shape returns the weight's shape, (out, in).
func (p *PackedWeight) Shape() []int { return p.w.Shape() }

// Linear returns x·wᵀ + bias like Linear. It panics when the product would
// record a graph (an input requires gradients and none is an inference
// tensor, see Inference): a packed weight has no gradient.
func (p *PackedWeight) Linear(x, bias *Tensor) *Tensor {
	return linear("PackedWeight.Linear", x, p.w, p.pb, bias, false, nil)
}

// LinearQuickGELU returns QuickGELU(p.Linear(x, bias)) like LinearQuickGELU.
func (p *PackedWeight) LinearQuickGELU(x, bias *Tensor) *Tensor {
	return linear("PackedWeight.LinearQuickGELU", x, p.w, p.pb, bias, true, nil)
}

// LinearAdd returns residual + p.Linear(x, bias) like LinearAdd.
func (p *PackedWeight) LinearAdd(x, bias, residual *Tensor) *Tensor {
	if residual == nil {
		panic("tensor: PackedWeight.LinearAdd: nil residual")
	}
	return linear("PackedWeight.LinearAdd", x, p.w, p.pb, bias, false, residual)
}

// PackedConv is the filters (K, C, R, S) of a convolution packed into the
// layout the GEMM kernels read, for a model that runs only inference: a
// convolution otherwise packs them again in every call, for every chunk of
// images. Its methods compute what Conv2d and Conv2dAffine compute, with
// the same bits, but record no graph: packed filters have no gradient.
type PackedConv struct {
	w       *Tensor
	data    []float32 // the packed storage: w's own, or a copy's
	pc      *kernels.PackedConv
	inPlace bool
}

// PackConv packs the filters w (K, C, R, S) for inference
// (kernels.PackConvInPlace). When w is contiguous the packed values take
// w's own storage, so packing costs no memory: w and its views then hold
// them in the kernels' order and must not be used until Unpack. Otherwise
// they are a copy and w is left as it was.
func PackConv(w *Tensor) *PackedConv {
	if w.NDim() != 4 {
		panic(fmt.Sprintf("tensor: PackConv: filters have shape %s, want (K, C, R, S)", shapeString(w.shape)))
	}
	inPlace := w.IsContiguous()
	data := w.Detach().Contiguous().Data() // w's own storage when inPlace
	s := w.shape
	return &PackedConv{w: w, data: data, pc: kernels.PackConvInPlace(data, s[0], s[1], s[2], s[3], 1), inPlace: inPlace}
}

// Unpack ends the packing and returns the filters, their values back in
// place bit for bit. p must not be used afterwards.
func (p *PackedConv) Unpack() *Tensor {
	if p.inPlace {
		p.pc.UnpackInPlace()
	}
	w := p.w
	p.w, p.data, p.pc = nil, nil, nil
	return w
}

// Shape returns the filters' shape, (K, C, R, S).
func (p *PackedConv) Shape() []int { return p.w.Shape() }

// Conv2d returns Conv2d(x, w, bias, stride, padding) for the packed
// filters w. It panics when the convolution would record a graph.
func (p *PackedConv) Conv2d(x, bias *Tensor, stride, padding [2]int) *Tensor {
	return conv2d("PackedConv.Conv2d", x, p.w, p, bias, stride, padding)
}

// Conv2dAffine returns Conv2dAffine(x, w, scale, shift, add, relu, stride,
// padding) for the packed filters w. It panics when the convolution would
// record a graph (an input requires gradients and none is an inference
// tensor, see Inference).
func (p *PackedConv) Conv2dAffine(x *Tensor, scale, shift []float32, add *Tensor, relu bool, stride, padding [2]int) *Tensor {
	return conv2dAffine("PackedConv.Conv2dAffine", x, p.w, p, scale, shift, add, relu, stride, padding)
}
