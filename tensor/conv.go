package tensor

import (
	"fmt"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/kernels"
)

// convGeom is the geometry of a 2-D convolution or pooling window over NCHW
// input: n images of c planes h×w, windows r×s moved by stride (sh, sw)
// over the input padded by (ph, pw) on each side, giving oh×ow outputs.
type convGeom struct {
	n, c, h, w     int
	r, s           int
	sh, sw, ph, pw int
	oh, ow         int
}

// newConvGeom checks x (N, C, H, W), the window, stride and padding, and
// computes the output size with floor rounding.
func newConvGeom(op string, x *Tensor, r, s int, stride, padding [2]int) convGeom {
	if x.NDim() != 4 {
		panic(fmt.Sprintf("tensor: %s: input has shape %s; want (N, C, H, W)", op, shapeString(x.shape)))
	}
	g := convGeom{n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], r: r, s: s,
		sh: stride[0], sw: stride[1], ph: padding[0], pw: padding[1]}
	if g.r < 1 || g.s < 1 || g.sh < 1 || g.sw < 1 || g.ph < 0 || g.pw < 0 {
		panic(fmt.Sprintf("tensor: %s: bad window %d×%d, stride %v or padding %v", op, r, s, stride, padding))
	}
	if g.h+2*g.ph < g.r || g.w+2*g.pw < g.s {
		panic(fmt.Sprintf("tensor: %s: window %d×%d is larger than input %s padded by %v", op, r, s, shapeString(x.shape), padding))
	}
	g.oh = (g.h+2*g.ph-g.r)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.s)/g.sw + 1
	return g
}

// newConv checks the input x (N, C, H, W) and the filters w (K, C, R, S)
// of a convolution and returns its geometry and its kernels.ConvParams.
func newConv(op string, x, w *Tensor, stride, padding [2]int) (g convGeom, p kernels.ConvParams) {
	if w.NDim() != 4 {
		panic(fmt.Sprintf("tensor: %s: weight has shape %s; want (K, C, R, S)", op, shapeString(w.shape)))
	}
	g = newConvGeom(op, x, w.shape[2], w.shape[3], stride, padding)
	if w.shape[1] != g.c {
		panic(fmt.Sprintf("tensor: %s: input %s and weight %s do not match", op, shapeString(x.shape), shapeString(w.shape)))
	}
	p = kernels.ConvParams{N: g.n, C: g.c, H: g.h, W: g.w, K: w.shape[0], R: g.r, S: g.s,
		StrideH: g.sh, StrideW: g.sw, PadH: g.ph, PadW: g.pw}
	return g, p
}

// Conv2d returns the 2-D cross-correlation of x (N, C, H, W) with the filters
// w (K, C, R, S), plus bias (K) unless it is nil, as
// torch.nn.functional.conv2d with dilation 1 and groups 1 (neither is
// supported). stride and padding are (vertical, horizontal); the padding is
// zeros on both sides. The result is (N, K, OH, OW) with
// OH = ⌊(H + 2·padding[0] − R)/stride[0]⌋ + 1 and OW likewise.
//
// The work is done by kernels.Conv2d, Conv2dBackwardData and
// Conv2dBackwardFilter (im2col and Sgemm), which also handle groups and
// dilation should a model need them.
func Conv2d(x, w, bias *Tensor, stride, padding [2]int) *Tensor {
	return conv2d("Conv2d", x, w, nil, bias, stride, padding)
}

// conv2d is Conv2d, with the filters w packed in pw unless it is nil (see
// PackedConv).
func conv2d(op string, x, w *Tensor, pw *PackedConv, bias *Tensor, stride, padding [2]int) *Tensor {
	g, p := newConv(op, x, w, stride, padding)
	k := p.K
	checkVector(op, "bias", bias, k)
	out := Zeros(g.n, k, g.oh, g.ow)
	l := g.oh * g.ow
	xd := x.Detach().Contiguous().Data()
	var wd []float32
	if pw != nil {
		if needsGrad(graphInputs(x, bias)) {
			panic(fmt.Sprintf("tensor: %s: packed filters have no gradient; pass an inference tensor (see Inference)", op))
		}
		if out.Numel() > 0 {
			kernels.Conv2dPacked(out.data, xd, pw.data, pw.pc, p, kernels.ConvEpilogue{})
		}
	} else {
		wd = w.Detach().Contiguous().Data()
		if out.Numel() > 0 {
			kernels.Conv2d(out.data, xd, wd, p)
		}
	}
	if bias != nil {
		bd := valuesOrNil(bias)
		for i := range g.n {
			for kk, b := range bd {
				row := out.data[(i*k+kk)*l:][:l]
				for j := range row {
					row[j] += b
				}
			}
		}
	}
	return record(out, op, func() {
		dy := out.grad.data
		if wantsGrad(bias) {
			db := bias.gradData()
			for i := range g.n {
				for kk := range k {
					db[kk] += kernels.Sum(dy[(i*k+kk)*l:][:l])
				}
			}
		}
		convBackward(p, x, w, xd, wd, dy)
	}, convInputs(x, w, pw, bias)...)
}

// convInputs returns the inputs of a convolution's graph: x, w unless its
// packing pw (a constant) stands for it, and extra.
func convInputs(x, w *Tensor, pw *PackedConv, extra *Tensor) []*Tensor {
	if pw != nil {
		return graphInputs(x, extra)
	}
	return graphInputs(x, w, extra)
}

// convBackward adds the gradients of a convolution with output gradient dy
// into those of x and w that need one.
func convBackward(p kernels.ConvParams, x, w *Tensor, xd, wd, dy []float32) {
	if len(dy) == 0 {
		return
	}
	if w.requiresGrad {
		kernels.Conv2dBackwardFilter(w.gradData(), xd, dy, p)
	}
	if x.requiresGrad {
		kernels.Conv2dBackwardData(x.gradData(), dy, wd, p)
	}
}

// Conv2dAffine returns a convolution followed by a map per output channel
// k, a residual and a ReLU:
//
//	y[n, k] = ReLU(scale[k]·Conv2d(x, w, nil)[n, k] + shift[k] + add[n, k])
//
// with add (the output's shape) nil for none and the ReLU only if relu. It
// is a ResNet's convolution, frozen batch norm (see BatchNormScaleShift)
// and block end as one operation: the map, the residual and the ReLU are
// applied as the convolution's GEMM stores each block, while it is in
// cache. Values and gradients equal those of the composed operations
// (Conv2d, BatchNorm in evaluation mode, AddReLU) bit for bit. scale and
// shift are constants: no gradient flows to them.
func Conv2dAffine(x, w *Tensor, scale, shift []float32, add *Tensor, relu bool, stride, padding [2]int) *Tensor {
	return conv2dAffine("Conv2dAffine", x, w, nil, scale, shift, add, relu, stride, padding)
}

// conv2dAffine is Conv2dAffine, with the filters w packed in pw unless it
// is nil (see PackedConv).
func conv2dAffine(op string, x, w *Tensor, pw *PackedConv, scale, shift []float32, add *Tensor, relu bool, stride, padding [2]int) *Tensor {
	g, p := newConv(op, x, w, stride, padding)
	k := p.K
	if len(scale) != k || len(shift) != k {
		panic(fmt.Sprintf("tensor: %s: %d scales and %d shifts for %d output channels", op, len(scale), len(shift), k))
	}
	if add != nil && !slices.Equal(add.shape, []int{g.n, k, g.oh, g.ow}) {
		panic(fmt.Sprintf("tensor: %s: residual has shape %s, want %s", op, shapeString(add.shape), shapefmt.String([]int{g.n, k, g.oh, g.ow})))
	}
	inputs := convInputs(x, w, pw, add)
	out := newOutput(inputs, g.n, k, g.oh, g.ow)
	l := g.oh * g.ow
	ep := kernels.ConvEpilogue{Scale: scale, Shift: shift, ReLU: relu}
	if add != nil {
		ep.Add = add.Detach().Contiguous().Data()
	}
	xd := x.Detach().Contiguous().Data()
	if pw != nil {
		if needsGrad(inputs) {
			panic(fmt.Sprintf("tensor: %s: packed filters have no gradient; pass an inference tensor (see Inference)", op))
		}
		if out.Numel() > 0 {
			kernels.Conv2dPacked(out.data, xd, pw.data, pw.pc, p, ep)
		}
		return record(out, op, nil, inputs...)
	}
	wd := w.Detach().Contiguous().Data()
	if out.Numel() > 0 {
		kernels.Conv2dEpilogue(out.data, xd, wd, p, ep)
	}
	return record(out, op, func() {
		// out's gradient is consumed here: it becomes the convolution's,
		// in place.
		dy := out.grad.data
		if relu {
			kernels.ReLUBackward(dy, dy, out.data)
		}
		if wantsGrad(add) {
			if add.grad == nil {
				copy(add.gradData(), dy)
			} else {
				addTo(add.gradData(), dy)
			}
		}
		// a·dy per channel, as batch norm's backward computes it (a·dy + 0),
		// channels split across threads as there.
		kernels.ParallelFor(k, max(1, (1<<14)/max(1, g.n*l)), func(lo, hi int) {
			for kk := lo; kk < hi; kk++ {
				for i := range g.n {
					row := dy[(i*k+kk)*l:][:l]
					kernels.Affine(row, scale[kk], row, 0)
				}
			}
		})
		convBackward(p, x, w, xd, wd, dy)
	}, graphInputs(x, w, add)...)
}
