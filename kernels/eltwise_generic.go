package kernels

import "math"

// The pure-Go elementwise primitives: the reference for the assembly and the
// implementation on every other platform. They compute in float64 where
// that is cheap, so tests can hold the assembly to them.

var eltwiseGeneric = eltwiseImpl{
	axpy:              axpyGeneric,
	addRows:           addRowsGeneric,
	scale:             scaleGeneric,
	addConst:          addConstGeneric,
	affine:            affineGeneric,
	affineReLU:        affineReLUGeneric,
	affineAddReLU:     affineAddReLUGeneric,
	sgdMomentum:       sgdMomentumGeneric,
	sgdNesterov:       sgdNesterovGeneric,
	add:               addGeneric,
	sub:               subGeneric,
	mul:               mulGeneric,
	relu:              reluGeneric,
	reluBackward:      reluBackwardGeneric,
	sum:               sumGeneric,
	dot:               dotGeneric,
	max:               maxGeneric,
	sumSqDev:          sumSqDevGeneric,
	exp:               expGeneric,
	sigmoid:           sigmoidGeneric,
	quickGELU:         quickGELUGeneric,
	quickGELUBackward: quickGELUBackwardGeneric,
	gelu:              geluGeneric,
	geluBackward:      geluBackwardGeneric,
	expSubSum:         expSubSumGeneric,
	sumExpSub:         sumExpSubGeneric,
	subConstMul:       subConstMulGeneric,
	subExpScaled:      subExpScaledGeneric,
	normAffine:        normAffineGeneric,
	normBackwardSums:  normBackwardSumsGeneric,
	normBackwardDx:    normBackwardDxGeneric,
	bnBackwardDx:      bnBackwardDxGeneric,
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func addRowsGeneric(dst []float32, ldd int, x []float32, ldx, rows, n int) {
	for i := 0; i < rows; i++ {
		d, v := dst[i*ldd:i*ldd+n], x[i*ldx:i*ldx+n]
		for j := range v {
			d[j] += v[j]
		}
	}
}

func scaleGeneric(dst []float32, alpha float32, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = alpha * v
	}
}

func addConstGeneric(dst []float32, c float32, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v + c
	}
}

func affineGeneric(dst []float32, alpha float32, x []float32, beta float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = alpha*v + beta
	}
}

func affineReLUGeneric(dst []float32, alpha float32, x []float32, beta float32) {
	affineGeneric(dst, alpha, x, beta)
	reluGeneric(dst, dst)
}

func affineAddReLUGeneric(dst []float32, alpha float32, x []float32, beta float32, y []float32) {
	affineGeneric(dst, alpha, x, beta)
	addGeneric(dst, dst, y[:len(dst)])
	reluGeneric(dst, dst)
}

// The SGD updates round every product and sum (the conversions forbid
// fused multiply-adds), as the assembly does.

func sgdMomentumGeneric(w, grad, buf []float32, lr, wd, mom, damp float32) {
	sgdGeneric(w, grad, buf, lr, wd, mom, damp, false)
}

func sgdNesterovGeneric(w, grad, buf []float32, lr, wd, mom, damp float32) {
	sgdGeneric(w, grad, buf, lr, wd, mom, damp, true)
}

func sgdGeneric(w, grad, buf []float32, lr, wd, mom, damp float32, nesterov bool) {
	grad, buf = grad[:len(w)], buf[:len(w)]
	for i := range w {
		d := grad[i] + float32(wd*w[i])
		b := float32(mom*buf[i]) + float32(damp*d)
		buf[i] = b
		if nesterov {
			d += float32(mom * b)
		} else {
			d = b
		}
		w[i] -= float32(lr * d)
	}
}

func addGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

func subGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] - y[i]
	}
}

func mulGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] * y[i]
	}
}

func reluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		dst[i] = v
	}
}

func reluBackwardGeneric(dst, dy, x []float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	for i, v := range x {
		if v > 0 {
			dst[i] = dy[i]
		} else {
			dst[i] = 0
		}
	}
}

// Every sum over a vector takes the canonical order of the assembly:
// element i is added, in order, to partial sum i%16, and the partial sums
// are combined by halving (partials16.sum).

// partials16 holds the 16 float64 partial sums of the canonical order.
type partials16 [16]float64

// sum combines the partial sums, p[l] += p[l+h] for l < h, h = 8, 4, 2, 1,
// and rounds the total to float32.
func (p *partials16) sum() float32 {
	for h := 8; h > 0; h /= 2 {
		for l := range h {
			p[l] += p[l+h]
		}
	}
	return float32(p[0])
}

// partials16f32 holds the 16 float32 partial sums of the canonical order.
type partials16f32 [16]float32

// sum combines the partial sums as partials16.sum does.
func (p *partials16f32) sum() float32 {
	for h := 8; h > 0; h /= 2 {
		for l := range h {
			p[l] += p[l+h]
		}
	}
	return p[0]
}

func sumGeneric(x []float32) float32 {
	var p partials16
	for i, v := range x {
		p[i%16] += float64(v)
	}
	return p.sum()
}

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var p partials16
	for i, v := range x {
		// The float64 product of two float32s is exact, fused or not.
		p[i%16] += float64(v) * float64(y[i])
	}
	return p.sum()
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func sumSqDevGeneric(x []float32, m float32) float32 {
	var p partials16f32
	for i, v := range x {
		d := v - m
		p[i%16] = fma32(d, d, p[i%16])
	}
	return p.sum()
}

func exp32(v float32) float32 { return float32(math.Exp(float64(v))) }

func expGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = exp32(v)
	}
}

func sigmoidGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

func quickGELUGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = v / (1 + exp32(-1.702*v))
	}
}

func quickGELUBackwardGeneric(dst, dy, x []float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	for i, v := range x {
		s := 1 / (1 + exp32(-1.702*v))
		dst[i] = dy[i] * (s + 1.702*v*s*(1-s))
	}
}

func geluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = float32(0.5 * float64(v) * math.Erfc(-float64(v)/math.Sqrt2))
	}
}

func geluBackwardGeneric(dst, dy, x []float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	for i, v := range x {
		xf := float64(v)
		cdf := 0.5 * math.Erfc(-xf/math.Sqrt2)
		pdf := math.Exp(-0.5*xf*xf) / math.Sqrt(2*math.Pi)
		dst[i] = dy[i] * float32(cdf+xf*pdf)
	}
}

func expSubSumGeneric(dst, x []float32, m float32) float32 {
	dst = dst[:len(x)]
	var p partials16
	for i, v := range x {
		e := exp32(v - m)
		dst[i] = e
		p[i%16] += float64(e)
	}
	return p.sum()
}

func sumExpSubGeneric(x []float32, m float32) float32 {
	var p partials16
	for i, v := range x {
		p[i%16] += float64(exp32(v - m))
	}
	return p.sum()
}

func subConstMulGeneric(dst, x []float32, c float32, y []float32) {
	dst, y = dst[:len(x)], y[:len(x)]
	for i, v := range x {
		dst[i] = (v - c) * y[i]
	}
}

func subExpScaledGeneric(dst, dy, y []float32, s float32) {
	dst, dy = dst[:len(y)], dy[:len(y)]
	for i, v := range y {
		dst[i] = dy[i] - s*exp32(v)
	}
}

func normAffineGeneric(dst, x, gamma, beta []float32, m, rs float32) {
	dst, gamma, beta = dst[:len(x)], gamma[:len(x)], beta[:len(x)]
	for i, v := range x {
		dst[i] = (v-m)*rs*gamma[i] + beta[i]
	}
}

func normBackwardSumsGeneric(dgamma, dbeta, dy, x, gamma []float32, m, rs float32) (sg, sgx float32) {
	dgamma, dbeta, dy, gamma = dgamma[:len(x)], dbeta[:len(x)], dy[:len(x)], gamma[:len(x)]
	var s, sx partials16f32
	for i, v := range x {
		xh := float32(float32(v-m) * rs)
		g := float32(dy[i] * gamma[i])
		s[i%16] += g
		sx[i%16] = fma32(g, xh, sx[i%16])
		dgamma[i] = fma32(xh, dy[i], dgamma[i])
		dbeta[i] += dy[i]
	}
	return s.sum(), sx.sum()
}

func normBackwardDxGeneric(dx, dy, x, gamma []float32, m, rs, mg, mgx float32) {
	dx, dy, gamma = dx[:len(x)], dy[:len(x)], gamma[:len(x)]
	for i, v := range x {
		xh := (v - m) * rs
		dx[i] = rs * (dy[i]*gamma[i] - mg - xh*mgx)
	}
}

func bnBackwardDxGeneric(dx, g, x []float32, s, mg, mu, rs, mgx float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	for i, v := range x {
		dx[i] += s * (g[i] - mg - (v-mu)*rs*mgx)
	}
}
