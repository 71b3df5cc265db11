package tensor

import (
	"fmt"

	"github.com/vlpuda/vlpuda/kernels"
)

// newPoolGeom checks a pooling window as PyTorch does: the padding may be at
// most half the window, so that every window overlaps the input.
func newPoolGeom(op string, x *Tensor, kernel, stride, padding [2]int) convGeom {
	if 2*padding[0] > kernel[0] || 2*padding[1] > kernel[1] {
		panic(fmt.Sprintf("tensor: %s: padding %v is more than half the window %v", op, padding, kernel))
	}
	return newConvGeom(op, x, kernel[0], kernel[1], stride, padding)
}

// poolParams returns the kernels' description of the pooling g.
func (g convGeom) poolParams() kernels.PoolParams {
	return kernels.PoolParams{N: g.n, C: g.c, H: g.h, W: g.w, R: g.r, S: g.s,
		StrideH: g.sh, StrideW: g.sw, PadH: g.ph, PadW: g.pw}
}

// AvgPool2d returns the mean over kernel[0]×kernel[1] windows of x
// (N, C, H, W), moved by stride over x padded with zeros by padding, as
// torch.nn.functional.avg_pool2d with its defaults (count_include_pad true,
// floor rounding): every window is divided by kernel[0]·kernel[1], padding
// included. padding may be at most half the window. The result is
// (N, C, OH, OW) with OH = ⌊(H + 2·padding[0] − kernel[0])/stride[0]⌋ + 1
// and OW likewise.
func AvgPool2d(x *Tensor, kernel, stride, padding [2]int) *Tensor {
	const op = "AvgPool2d"
	g := newPoolGeom(op, x, kernel, stride, padding)
	p := g.poolParams()
	out := newOutput([]*Tensor{x}, g.n, g.c, g.oh, g.ow)
	if out.Numel() > 0 {
		kernels.AvgPool2d(out.data, x.Detach().Contiguous().Data(), p)
	}
	return record(out, op, func() {
		if x.requiresGrad && out.Numel() > 0 {
			kernels.AvgPool2dBackward(x.gradData(), out.grad.data, p)
		}
	}, x)
}

// MaxPool2d returns the maximum over kernel[0]×kernel[1] windows of x
// (N, C, H, W), moved by stride over x padded by padding (the padding never
// wins), as torch.nn.functional.max_pool2d with dilation 1 and floor
// rounding. A NaN in a window is its maximum. The gradient of each output
// goes to the first maximum of its window in row-major order. padding may
// be at most half the window. The result is (N, C, OH, OW) as for AvgPool2d.
func MaxPool2d(x *Tensor, kernel, stride, padding [2]int) *Tensor {
	const op = "MaxPool2d"
	g := newPoolGeom(op, x, kernel, stride, padding)
	p := g.poolParams()
	out := Zeros(g.n, g.c, g.oh, g.ow)
	arg := make([]int32, len(out.data)) // the index of each maximum within its plane
	if out.Numel() > 0 {
		kernels.MaxPool2d(out.data, arg, x.Detach().Contiguous().Data(), p)
	}
	return record(out, op, func() {
		if x.requiresGrad && out.Numel() > 0 {
			kernels.MaxPool2dBackward(x.gradData(), out.grad.data, arg, p)
		}
	}, x)
}

// AdaptiveAvgPool2d returns x (N, C, H, W) averaged to (N, C, outH, outW),
// as torch.nn.functional.adaptive_avg_pool2d: output (i, j) is the mean of
// input rows [⌊i·H/outH⌋, ⌈(i+1)·H/outH⌉) and the columns chosen likewise,
// so windows may overlap or differ in size.
func AdaptiveAvgPool2d(x *Tensor, outH, outW int) *Tensor {
	const op = "AdaptiveAvgPool2d"
	if x.NDim() != 4 {
		panic(fmt.Sprintf("tensor: %s: input has shape %s; want (N, C, H, W)", op, shapeString(x.shape)))
	}
	if outH < 1 || outW < 1 {
		panic(fmt.Sprintf("tensor: %s: output size %d×%d; want at least 1×1", op, outH, outW))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if h < 1 || w < 1 {
		panic(fmt.Sprintf("tensor: %s: input %s has an empty plane", op, shapeString(x.shape)))
	}
	out := Zeros(n, c, outH, outW)
	if out.Numel() > 0 {
		kernels.AdaptiveAvgPool2d(out.data, x.Detach().Contiguous().Data(), n, c, h, w, outH, outW)
	}
	return record(out, op, func() {
		if x.requiresGrad && out.Numel() > 0 {
			kernels.AdaptiveAvgPool2dBackward(x.gradData(), out.grad.data, n, c, h, w, outH, outW)
		}
	}, x)
}
