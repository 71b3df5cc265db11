package tensor

import (
	"fmt"

	"github.com/vlpuda/vlpuda/kernels"
)

// forPlanes runs fn(p) for every plane p in [0, planes) on disjoint ranges in
// parallel; work estimates the cost of one plane in elementary steps.
func forPlanes(planes, work int, fn func(p int)) {
	kernels.ParallelFor(planes, max(1, (1<<14)/max(1, work)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			fn(p)
		}
	})
}

// newPoolGeom checks a pooling window as PyTorch does: the padding may be at
// most half the window, so that every window overlaps the input.
func newPoolGeom(op string, x *Tensor, kernel, stride, padding [2]int) convGeom {
	if 2*padding[0] > kernel[0] || 2*padding[1] > kernel[1] {
		panic(fmt.Sprintf("tensor: %s: padding %v is more than half the window %v", op, padding, kernel))
	}
	return newConvGeom(op, x, kernel[0], kernel[1], stride, padding)
}

// window returns the input rows [y0, y1) and columns [x0, x1) that output
// position (oy, ox) covers, clipped to the input.
func (g convGeom) window(oy, ox int) (y0, y1, x0, x1 int) {
	y0, x0 = oy*g.sh-g.ph, ox*g.sw-g.pw
	y1, x1 = min(y0+g.r, g.h), min(x0+g.s, g.w)
	return max(y0, 0), y1, max(x0, 0), x1
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
	xd := x.Detach().Contiguous().Data()
	out := Zeros(g.n, g.c, g.oh, g.ow)
	in, on := g.h*g.w, g.oh*g.ow
	inv := 1 / float32(g.r*g.s)
	forPlanes(g.n*g.c, on*g.r*g.s, func(p int) {
		src, dst := xd[p*in:][:in], out.data[p*on:][:on]
		for oy := range g.oh {
			for ox := range g.ow {
				y0, y1, x0, x1 := g.window(oy, ox)
				var s float32
				for iy := y0; iy < y1; iy++ {
					for _, v := range src[iy*g.w+x0 : iy*g.w+x1] {
						s += v
					}
				}
				dst[oy*g.ow+ox] = s * inv
			}
		}
	})
	return record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		dx, dy := x.gradData(), out.grad.data
		forPlanes(g.n*g.c, on*g.r*g.s, func(p int) {
			dst, src := dx[p*in:][:in], dy[p*on:][:on]
			for oy := range g.oh {
				for ox := range g.ow {
					y0, y1, x0, x1 := g.window(oy, ox)
					v := src[oy*g.ow+ox] * inv
					for iy := y0; iy < y1; iy++ {
						row := dst[iy*g.w+x0 : iy*g.w+x1]
						for j := range row {
							row[j] += v
						}
					}
				}
			}
		})
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
	xd := x.Detach().Contiguous().Data()
	out := Zeros(g.n, g.c, g.oh, g.ow)
	in, on := g.h*g.w, g.oh*g.ow
	arg := make([]int32, len(out.data)) // index of the maximum within its plane
	forPlanes(g.n*g.c, on*g.r*g.s, func(p int) {
		src, dst, am := xd[p*in:][:in], out.data[p*on:][:on], arg[p*on:][:on]
		for oy := range g.oh {
			for ox := range g.ow {
				y0, y1, x0, x1 := g.window(oy, ox)
				best, bi := src[y0*g.w+x0], y0*g.w+x0
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						if v := src[iy*g.w+ix]; greaterNaN(v, best) {
							best, bi = v, iy*g.w+ix
						}
					}
				}
				dst[oy*g.ow+ox], am[oy*g.ow+ox] = best, int32(bi)
			}
		}
	})
	return record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		dx, dy := x.gradData(), out.grad.data
		forPlanes(g.n*g.c, on, func(p int) {
			dst := dx[p*in:][:in]
			for j, v := range dy[p*on:][:on] {
				dst[arg[p*on+j]] += v
			}
		})
	}, x)
}

// adaptiveRange returns the input range [start, end) that output i of out
// covers along a dimension of size n: start = ⌊i·n/out⌋, end = ⌈(i+1)·n/out⌉,
// as PyTorch's adaptive pooling.
func adaptiveRange(i, n, out int) (start, end int) {
	return i * n / out, ((i+1)*n + out - 1) / out
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
	xd := x.Detach().Contiguous().Data()
	out := Zeros(n, c, outH, outW)
	in, on := h*w, outH*outW
	work := in + on
	forPlanes(n*c, work, func(p int) {
		src, dst := xd[p*in:][:in], out.data[p*on:][:on]
		for oy := range outH {
			y0, y1 := adaptiveRange(oy, h, outH)
			for ox := range outW {
				x0, x1 := adaptiveRange(ox, w, outW)
				var s float32
				for iy := y0; iy < y1; iy++ {
					for _, v := range src[iy*w+x0 : iy*w+x1] {
						s += v
					}
				}
				dst[oy*outW+ox] = s / float32((y1-y0)*(x1-x0))
			}
		}
	})
	return record(out, op, func() {
		if !x.requiresGrad {
			return
		}
		dx, dy := x.gradData(), out.grad.data
		forPlanes(n*c, work, func(p int) {
			dst, src := dx[p*in:][:in], dy[p*on:][:on]
			for oy := range outH {
				y0, y1 := adaptiveRange(oy, h, outH)
				for ox := range outW {
					x0, x1 := adaptiveRange(ox, w, outW)
					v := src[oy*outW+ox] / float32((y1-y0)*(x1-x0))
					for iy := y0; iy < y1; iy++ {
						row := dst[iy*w+x0 : iy*w+x1]
						for j := range row {
							row[j] += v
						}
					}
				}
			}
		})
	}, x)
}
