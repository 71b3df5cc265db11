package kernels

import (
	"fmt"
	"math"
)

// This file holds 2-D pooling over NCHW float32 data, with PyTorch's
// semantics (floor output size). Every (image, channel) plane is
// independent; planes are split across the worker pool.

// PoolParams describes a 2-D pooling window over NCHW data.
type PoolParams struct {
	N, C, H, W       int // input: N images of C channels of H×W
	R, S             int // window height and width
	StrideH, StrideW int // 0 means the window size, as in PyTorch
	PadH, PadW       int // padding on each side, at most half the window

	// ExcludePad makes AvgPool2d divide by the number of window elements
	// inside the input instead of R·S (PyTorch's count_include_pad=False).
	ExcludePad bool
}

func (p PoolParams) norm() PoolParams {
	if p.StrideH == 0 {
		p.StrideH = p.R
	}
	if p.StrideW == 0 {
		p.StrideW = p.S
	}
	return p
}

// OutH returns the output height, ⌊(H + 2·PadH - R)/StrideH⌋ + 1, less
// than 1 when the window is taller than the padded input.
func (p PoolParams) OutH() int {
	p = p.norm()
	return floorDiv(p.H+2*p.PadH-p.R, p.StrideH) + 1
}

// OutW returns the output width, ⌊(W + 2·PadW - S)/StrideW⌋ + 1, less
// than 1 when the window is wider than the padded input.
func (p PoolParams) OutW() int {
	p = p.norm()
	return floorDiv(p.W+2*p.PadW-p.S, p.StrideW) + 1
}

func (p PoolParams) check(op string, x, y int) {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("kernels: %s: "+format, append([]any{op}, args...)...))
	}
	switch {
	case p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.R < 1 || p.S < 1:
		bad("bad sizes N=%d C=%d H=%d W=%d R=%d S=%d", p.N, p.C, p.H, p.W, p.R, p.S)
	case p.StrideH < 1 || p.StrideW < 1:
		bad("stride (%d, %d) must be positive", p.StrideH, p.StrideW)
	case p.PadH < 0 || p.PadW < 0 || 2*p.PadH > p.R || 2*p.PadW > p.S:
		bad("padding (%d, %d) must be between 0 and half the window %d×%d", p.PadH, p.PadW, p.R, p.S)
	case p.OutH() < 1 || p.OutW() < 1:
		bad("window %d×%d exceeds the padded input %d×%d", p.R, p.S, p.H+2*p.PadH, p.W+2*p.PadW)
	}
	if want := p.N * p.C * p.H * p.W; x != want {
		panic(fmt.Sprintf("kernels: %s: input length %d, want %d", op, x, want))
	}
	if want := p.N * p.C * p.OutH() * p.OutW(); y != want {
		panic(fmt.Sprintf("kernels: %s: output length %d, want %d", op, y, want))
	}
}

// window returns the input rows [h0, h1) and columns [w0, w1) under output
// (oh, ow), clipped to the image.
func (p PoolParams) window(oh, ow int) (h0, h1, w0, w1 int) {
	h0, w0 = oh*p.StrideH-p.PadH, ow*p.StrideW-p.PadW
	h1, w1 = min(h0+p.R, p.H), min(w0+p.S, p.W)
	return max(h0, 0), h1, max(w0, 0), w1
}

// planes runs fn on every plane index in [0, N·C), split across threads.
func planes(n, work int, fn func(i int)) {
	ParallelFor(n, max(1, grainArith/max(1, work)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

// MaxPool2d computes dst (N, C, OH, OW), the maximum of x (N, C, H, W) over
// each window, and stores in argmax the index h·W+w within its input plane
// of the element chosen (the first maximum; NaN wins, as in PyTorch).
func MaxPool2d(dst []float32, argmax []int32, x []float32, p PoolParams) {
	p = p.norm()
	p.check("MaxPool2d", len(x), len(dst))
	if len(argmax) != len(dst) {
		panic(fmt.Sprintf("kernels: MaxPool2d: len(argmax)=%d, want %d", len(argmax), len(dst)))
	}
	oh, ow, hw := p.OutH(), p.OutW(), p.H*p.W
	planes(p.N*p.C, hw, func(i int) {
		src := x[i*hw : (i+1)*hw]
		d, a := dst[i*oh*ow:(i+1)*oh*ow], argmax[i*oh*ow:(i+1)*oh*ow]
		for y := 0; y < oh; y++ {
			for z := 0; z < ow; z++ {
				h0, h1, w0, w1 := p.window(y, z)
				m, at := float32(math.Inf(-1)), h0*p.W+w0
			scan:
				for h := h0; h < h1; h++ {
					for w := w0; w < w1; w++ {
						v := src[h*p.W+w]
						if v != v {
							m, at = v, h*p.W+w
							break scan
						}
						if v > m {
							m, at = v, h*p.W+w
						}
					}
				}
				d[y*ow+z], a[y*ow+z] = m, int32(at)
			}
		}
	})
}

// MaxPool2dBackward adds dy (N, C, OH, OW) into dx (N, C, H, W) at the
// positions MaxPool2d stored in argmax.
func MaxPool2dBackward(dx, dy []float32, argmax []int32, p PoolParams) {
	p = p.norm()
	p.check("MaxPool2dBackward", len(dx), len(dy))
	if len(argmax) != len(dy) {
		panic(fmt.Sprintf("kernels: MaxPool2dBackward: len(argmax)=%d, want %d", len(argmax), len(dy)))
	}
	ohw, hw := p.OutH()*p.OutW(), p.H*p.W
	planes(p.N*p.C, ohw, func(i int) {
		d := dx[i*hw : (i+1)*hw]
		for j, a := range argmax[i*ohw : (i+1)*ohw] {
			d[a] += dy[i*ohw+j]
		}
	})
}

// poolDivisor returns the divisor of average pooling for the window
// [h0, h1)×[w0, w1).
func (p PoolParams) poolDivisor(h0, h1, w0, w1 int) float32 {
	if p.ExcludePad {
		return float32((h1 - h0) * (w1 - w0))
	}
	return float32(p.R * p.S)
}

// AvgPool2d computes dst (N, C, OH, OW), the mean of x (N, C, H, W) over
// each window; padding counts as zeros unless p.ExcludePad is set.
func AvgPool2d(dst, x []float32, p PoolParams) {
	p = p.norm()
	p.check("AvgPool2d", len(x), len(dst))
	oh, ow, hw := p.OutH(), p.OutW(), p.H*p.W
	planes(p.N*p.C, hw, func(i int) {
		src, d := x[i*hw:(i+1)*hw], dst[i*oh*ow:(i+1)*oh*ow]
		if p.halves() {
			avgPoolHalves(d, src, p.W, oh, ow)
		} else {
			avgPoolPlane(d, src, p, oh, ow)
		}
	})
}

// halves reports whether p is a 2×2 pool at stride 2 without padding, the
// anti-aliasing pool of CLIP's ResNets, which has a faster loop.
func (p PoolParams) halves() bool {
	return p.R == 2 && p.S == 2 && p.StrideH == 2 && p.StrideW == 2 && p.PadH == 0 && p.PadW == 0
}

// avgPoolPlane is AvgPool2d on one plane for any window.
func avgPoolPlane(d, src []float32, p PoolParams, oh, ow int) {
	for y := 0; y < oh; y++ {
		for z := 0; z < ow; z++ {
			h0, h1, w0, w1 := p.window(y, z)
			var s float32
			for h := h0; h < h1; h++ {
				for _, v := range src[h*p.W+w0 : h*p.W+w1] {
					s += v
				}
			}
			d[y*ow+z] = s / p.poolDivisor(h0, h1, w0, w1)
		}
	}
}

// avgPoolHalves is avgPoolPlane for a 2×2 window at stride 2 without
// padding on planes w wide: the same sums in the same order.
func avgPoolHalves(d, src []float32, w, oh, ow int) {
	for y := range oh {
		r0, r1, dy := src[2*y*w:][:2*ow], src[(2*y+1)*w:][:2*ow], d[y*ow:][:ow]
		for z := range dy {
			var s float32 // from +0, as avgPoolPlane: the same sign of zero
			s += r0[2*z]
			s += r0[2*z+1]
			s += r1[2*z]
			s += r1[2*z+1]
			dy[z] = s / 4
		}
	}
}

// AvgPool2dBackward adds the gradient of AvgPool2d into dx (N, C, H, W).
func AvgPool2dBackward(dx, dy []float32, p PoolParams) {
	p = p.norm()
	p.check("AvgPool2dBackward", len(dx), len(dy))
	oh, ow, hw := p.OutH(), p.OutW(), p.H*p.W
	planes(p.N*p.C, hw, func(i int) {
		d, g := dx[i*hw:(i+1)*hw], dy[i*oh*ow:(i+1)*oh*ow]
		if p.halves() {
			for y := range oh {
				r0, r1, gy := d[2*y*p.W:][:2*ow], d[(2*y+1)*p.W:][:2*ow], g[y*ow:][:ow]
				for z, v := range gy {
					v = float32(v / 4)
					r0[2*z] += v
					r0[2*z+1] += v
					r1[2*z] += v
					r1[2*z+1] += v
				}
			}
			return
		}
		for y := 0; y < oh; y++ {
			for z := 0; z < ow; z++ {
				h0, h1, w0, w1 := p.window(y, z)
				v := g[y*ow+z] / p.poolDivisor(h0, h1, w0, w1)
				for h := h0; h < h1; h++ {
					for w := w0; w < w1; w++ {
						d[h*p.W+w] += v
					}
				}
			}
		}
	})
}

// adaptiveBin returns PyTorch's input range [floor(i·in/out), ceil((i+1)·in/out))
// for output i of an adaptive pool.
func adaptiveBin(i, in, out int) (lo, hi int) {
	return i * in / out, ((i+1)*in + out - 1) / out
}

func checkAdaptive(op string, x, y, n, c, h, w, oh, ow int) {
	if n < 0 || c < 1 || h < 1 || w < 1 || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("kernels: %s: bad sizes N=%d C=%d H=%d W=%d OH=%d OW=%d", op, n, c, h, w, oh, ow))
	}
	if x != n*c*h*w || y != n*c*oh*ow {
		panic(fmt.Sprintf("kernels: %s: lengths %d and %d, want %d and %d", op, x, y, n*c*h*w, n*c*oh*ow))
	}
}

// AdaptiveAvgPool2d computes dst (N, C, OH, OW) from x (N, C, H, W), each
// output the mean of its PyTorch adaptive bin.
func AdaptiveAvgPool2d(dst, x []float32, n, c, h, w, oh, ow int) {
	checkAdaptive("AdaptiveAvgPool2d", len(x), len(dst), n, c, h, w, oh, ow)
	planes(n*c, h*w, func(i int) {
		src, d := x[i*h*w:(i+1)*h*w], dst[i*oh*ow:(i+1)*oh*ow]
		for y := 0; y < oh; y++ {
			h0, h1 := adaptiveBin(y, h, oh)
			for z := 0; z < ow; z++ {
				w0, w1 := adaptiveBin(z, w, ow)
				var s float32
				for r := h0; r < h1; r++ {
					for _, v := range src[r*w+w0 : r*w+w1] {
						s += v
					}
				}
				d[y*ow+z] = s / float32((h1-h0)*(w1-w0))
			}
		}
	})
}

// AdaptiveAvgPool2dBackward adds the gradient of AdaptiveAvgPool2d into dx.
func AdaptiveAvgPool2dBackward(dx, dy []float32, n, c, h, w, oh, ow int) {
	checkAdaptive("AdaptiveAvgPool2dBackward", len(dx), len(dy), n, c, h, w, oh, ow)
	planes(n*c, h*w, func(i int) {
		d, g := dx[i*h*w:(i+1)*h*w], dy[i*oh*ow:(i+1)*oh*ow]
		for y := 0; y < oh; y++ {
			h0, h1 := adaptiveBin(y, h, oh)
			for z := 0; z < ow; z++ {
				w0, w1 := adaptiveBin(z, w, ow)
				v := g[y*ow+z] / float32((h1-h0)*(w1-w0))
				for r := h0; r < h1; r++ {
					for q := w0; q < w1; q++ {
						d[r*w+q] += v
					}
				}
			}
		}
	})
}
