package nn

import "github.com/vlpuda/vlpuda/tensor"

// errPacked is the panic of Params on a module whose weights are packed.
const errPacked = "nn: the weights are packed for inference (PackWeights); unpack them before reading the parameters"

// A packer is a module whose Linear or convolution layers can hold their
// weights packed for inference. Only the modules that know how their
// layers are used pack them: the attention pool keeps its key and value
// projections as they are, because its inference pass multiplies by them
// directly, and only the ResNet's convolutions, which run with their
// batch norms folded in (convBN), are packed.
type packer interface {
	packWeights()
	unpackWeights()
}

// PackWeights packs, for inference, the weights of the Linear layers in
// m's transformer blocks and attention pool (tensor.PackWeight) and of the
// convolutions of its ResNet stem and blocks (tensor.PackConv): their
// products then skip the copy of each weight into the GEMM kernels'
// layout that every call makes otherwise, a large part of a small batch's
// time. A weight is packed in its own storage where its shape allows
// (CLIP's all do), otherwise into a copy. Its batch norms compute the map
// they fold into the convolutions once rather than in every pass.
//
// Until unpack is called, those layers serve only inference tensors (see
// tensor.Inference; a training step panics) and their Weight fields are
// nil: m's parameters must not be read, trained or saved. unpack puts
// every weight back bit for bit; calling it again does nothing.
// Evaluations during training pack and unpack around each pass; the
// results are the same bits either way.
func PackWeights(m Module) (unpack func()) {
	var packed []packer
	Walk(m, func(_ string, m Module) {
		if p, ok := m.(packer); ok {
			p.packWeights()
			packed = append(packed, p)
		}
	})
	return func() {
		for _, p := range packed {
			p.unpackWeights()
		}
		packed = nil
	}
}

// packWeight moves the weight *w into *p, packed, unless it is packed
// already; unpackWeight moves it back.
func packWeight(w **tensor.Tensor, p **tensor.PackedWeight) {
	if *p == nil {
		*p, *w = tensor.PackWeight(*w), nil
	}
}

func unpackWeight(w **tensor.Tensor, p **tensor.PackedWeight) {
	if *p != nil {
		*w, *p = (*p).Unpack(), nil
	}
}

// linearOf is tensor.Linear(x, w, bias), through p while the weight is
// packed.
func linearOf(x, w *tensor.Tensor, p *tensor.PackedWeight, bias *tensor.Tensor) *tensor.Tensor {
	if p != nil {
		return p.Linear(x, bias)
	}
	return tensor.Linear(x, w, bias)
}

func (l *Linear) pack()   { packWeight(&l.Weight, &l.packed) }
func (l *Linear) unpack() { unpackWeight(&l.Weight, &l.packed) }

func (a *MultiheadAttention) packWeights() {
	packWeight(&a.InProjWeight, &a.inProj)
	a.OutProj.pack()
}

func (a *MultiheadAttention) unpackWeights() {
	unpackWeight(&a.InProjWeight, &a.inProj)
	a.OutProj.unpack()
}

func (m *MLP) packWeights() {
	m.CFc.pack()
	m.CProj.pack()
}

func (m *MLP) unpackWeights() {
	m.CFc.unpack()
	m.CProj.unpack()
}

// The attention pool's inference pass multiplies by the key and value
// weights directly (attendFolded), so only the query and output
// projections are packed.
func (a *AttentionPool2d) packWeights() {
	a.QProj.pack()
	a.CProj.pack()
}

func (a *AttentionPool2d) unpackWeights() {
	a.QProj.unpack()
	a.CProj.unpack()
}

// pack packs c's weight unless it is packed already.
func (c *Conv2d) pack() {
	if c.packed == nil {
		c.packed = tensor.PackConv(c.Weight)
		c.Weight = nil
	}
}

// unpack restores c's weight if it is packed.
func (c *Conv2d) unpack() {
	if c.packed != nil {
		c.Weight = c.packed.Unpack()
		c.packed = nil
	}
}

// The stem's convolutions run through convBN, so they are packed; the
// stages are children that pack their own.
func (r *ModifiedResNet) packWeights() {
	r.Conv1.pack()
	r.Conv2.pack()
	r.Conv3.pack()
}

func (r *ModifiedResNet) unpackWeights() {
	r.Conv1.unpack()
	r.Conv2.unpack()
	r.Conv3.unpack()
}

func (b *Bottleneck) packWeights() {
	b.Conv1.pack()
	b.Conv2.pack()
	b.Conv3.pack()
}

func (b *Bottleneck) unpackWeights() {
	b.Conv1.unpack()
	b.Conv2.unpack()
	b.Conv3.unpack()
}

func (d *Downsample) packWeights()   { d.Conv.pack() }
func (d *Downsample) unpackWeights() { d.Conv.unpack() }

// A batch norm keeps the map it folds into a convolution while packed
// (frozenScaleShift).
func (b *BatchNorm) packWeights() { b.packed = true }

func (b *BatchNorm) unpackWeights() { b.packed, b.folded = false, nil }
