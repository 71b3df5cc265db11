package tensor

import (
	"fmt"

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

// pointwise reports whether the convolution reads each input pixel once at
// its own position (1×1, stride 1, no padding), so that one image (C, H·W)
// is already its own column matrix.
func (g convGeom) pointwise() bool {
	return g.r == 1 && g.s == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
}

// im2col writes the column matrix of one image img (C, H, W) into cols
// (C·R·S, OH·OW): row (c, i, j) holds the input pixel under window offset
// (i, j) of channel c for every output position, or 0 where that falls in the
// padding.
func (g convGeom) im2col(cols, img []float32) {
	l := g.oh * g.ow
	row := 0
	for c := range g.c {
		plane := img[c*g.h*g.w:][:g.h*g.w]
		for i := range g.r {
			for j := range g.s {
				dst := cols[row*l:][:l]
				row++
				for oy := range g.oh {
					d := dst[oy*g.ow:][:g.ow]
					iy := oy*g.sh - g.ph + i
					if iy < 0 || iy >= g.h {
						clear(d)
						continue
					}
					src := plane[iy*g.w:][:g.w]
					for ox := range d {
						ix := ox*g.sw - g.pw + j
						if ix < 0 || ix >= g.w {
							d[ox] = 0
						} else {
							d[ox] = src[ix]
						}
					}
				}
			}
		}
	}
}

// col2im adds the column matrix cols (C·R·S, OH·OW) back into img (C, H, W):
// the transpose of im2col, which sums the contributions of overlapping windows.
func (g convGeom) col2im(img, cols []float32) {
	l := g.oh * g.ow
	row := 0
	for c := range g.c {
		plane := img[c*g.h*g.w:][:g.h*g.w]
		for i := range g.r {
			for j := range g.s {
				src := cols[row*l:][:l]
				row++
				for oy := range g.oh {
					iy := oy*g.sh - g.ph + i
					if iy < 0 || iy >= g.h {
						continue
					}
					dst := plane[iy*g.w:][:g.w]
					for ox, v := range src[oy*g.ow:][:g.ow] {
						if ix := ox*g.sw - g.pw + j; ix >= 0 && ix < g.w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// Conv2d returns the 2-D cross-correlation of x (N, C, H, W) with the filters
// w (K, C, R, S), plus bias (K) unless it is nil, as
// torch.nn.functional.conv2d with dilation 1 and groups 1 (neither is
// supported). stride and padding are (vertical, horizontal); the padding is
// zeros on both sides. The result is (N, K, OH, OW) with
// OH = ⌊(H + 2·padding[0] − R)/stride[0]⌋ + 1 and OW likewise.
//
// Each image is lowered to a column matrix (im2col) and multiplied by the
// filters with kernels.Sgemm; the backward pass rebuilds the columns rather
// than keeping them, so memory stays at one image's columns.
func Conv2d(x, w, bias *Tensor, stride, padding [2]int) *Tensor {
	const op = "Conv2d"
	if w.NDim() != 4 {
		panic(fmt.Sprintf("tensor: %s: weight has shape %s; want (K, C, R, S)", op, shapeString(w.shape)))
	}
	g := newConvGeom(op, x, w.shape[2], w.shape[3], stride, padding)
	k := w.shape[0]
	if w.shape[1] != g.c {
		panic(fmt.Sprintf("tensor: %s: input %s and weight %s do not match", op, shapeString(x.shape), shapeString(w.shape)))
	}
	checkVector(op, "bias", bias, k)
	crs, l := g.c*g.r*g.s, g.oh*g.ow
	imgSize, outSize := g.c*g.h*g.w, k*l
	xd := x.Detach().Contiguous().Data()
	wd := w.Detach().Contiguous().Data()
	bd := valuesOrNil(bias)

	out := Zeros(g.n, k, g.oh, g.ow)
	var cols []float32 // one image's columns, reused; nil when pointwise
	if !g.pointwise() {
		cols = make([]float32, crs*l)
	}
	for i := range g.n {
		img := xd[i*imgSize:][:imgSize]
		col := img
		if cols != nil {
			g.im2col(cols, img)
			col = cols
		}
		dst := out.data[i*outSize:][:outSize]
		kernels.Sgemm(false, false, k, l, crs, 1, wd, crs, col, l, 0, dst, l)
		for kk, b := range bd {
			row := dst[kk*l:][:l]
			for j := range row {
				row[j] += b
			}
		}
	}
	return record(out, op, func() {
		dy := out.grad.data
		if wantsGrad(bias) {
			db := bias.gradData()
			for i := range g.n {
				for kk := range k {
					db[kk] += kernels.Sum(dy[i*outSize+kk*l:][:l])
				}
			}
		}
		if !x.requiresGrad && !w.requiresGrad {
			return
		}
		var dw, dx, cols []float32
		if !g.pointwise() {
			cols = make([]float32, crs*l)
		}
		if w.requiresGrad {
			dw = w.gradData()
		}
		if x.requiresGrad {
			dx = x.gradData()
		}
		for i := range g.n {
			dyi := dy[i*outSize:][:outSize]
			if dw != nil {
				// dW += dY_i · cols_iᵀ
				img := xd[i*imgSize:][:imgSize]
				col := img
				if cols != nil {
					g.im2col(cols, img)
					col = cols
				}
				kernels.Sgemm(false, true, k, crs, l, 1, dyi, l, col, l, 1, dw, crs)
			}
			if dx != nil {
				// dcols = Wᵀ · dY_i, then scattered back onto the image.
				dxi := dx[i*imgSize:][:imgSize]
				if cols == nil {
					kernels.Sgemm(true, false, crs, l, k, 1, wd, crs, dyi, l, 1, dxi, l)
					continue
				}
				kernels.Sgemm(true, false, crs, l, k, 1, wd, crs, dyi, l, 0, cols, l)
				g.col2im(dxi, cols)
			}
		}
	}, graphInputs(x, w, bias)...)
}
