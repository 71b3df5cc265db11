package kernels

import "math"

// The pure-Go elementwise primitives: the implementation on every other
// platform, computing what the assembly computes bit for bit. Every
// operation is explicit: float32(x*y) where the assembly rounds a product,
// fma32 where it fuses one, so that no compiler may fuse or split them.

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
	halfToFloat32:     halfToFloat32Generic,
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = fma32(alpha, v, y[i])
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
		dst[i] = fma32(alpha, v, beta)
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
		d := float32(grad[i] + float32(wd*w[i]))
		b := float32(float32(mom*buf[i]) + float32(damp*d))
		buf[i] = b
		if nesterov {
			d = float32(d + float32(mom*b))
		} else {
			d = b
		}
		w[i] = float32(w[i] - float32(lr*d))
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

// exp32 returns exp(x) as the assembly computes it: x clamped to [expLo,
// expHi], n = round(x·log2 e), r = x - n·ln 2 in two fused steps, the
// Taylor polynomial of e^r by Horner's rule, times 2^n in two factors.
// A NaN gives a NaN.
func exp32(x float32) float32 {
	if x != x {
		return x
	}
	u := min(max(x, expLo), expHi)
	nf := float32(math.RoundToEven(float64(float32(u * expLog2E))))
	r := fma32(-nf, expLn2Hi, u)
	r = fma32(-nf, expLn2Lo, r)
	p := expPoly[len(expPoly)-1]
	for k := len(expPoly) - 2; k >= 0; k-- {
		p = fma32(p, r, expPoly[k])
	}
	n := int32(nf)
	n1 := n >> 1
	p = float32(p * math.Float32frombits(uint32(n1+127)<<23))
	return float32(p * math.Float32frombits(uint32(n-n1+127)<<23))
}

func expGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = exp32(v)
	}
}

func sigmoidGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = 1 / float32(exp32(0-v)+1)
	}
}

func quickGELUGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = v / float32(exp32(float32(-quickGELUCoef*v))+1)
	}
}

func quickGELUBackwardGeneric(dst, dy, x []float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	for i, v := range x {
		s := 1 / float32(exp32(float32(-quickGELUCoef*v))+1)
		// s + 1.702·x·s·(1-s), the last step fused.
		d := fma32(float32(float32(quickGELUCoef*v)*s), 1-s, s)
		dst[i] = float32(dy[i] * d)
	}
}

// gaussCDF32 returns Φ(x), the standard normal CDF, and g = exp(-x²/2) as
// the assembly computes them: Φ(-|x|) = erfc(|x|/√2)/2, and
// erfc(z) = exp(-z²)·t·P(t) with t = 1/(1+erfcP·z). A NaN x is taken as
// ±20, as the assembly's clamp does.
func gaussCDF32(x float32) (phi, g float32) {
	ax := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
	if !(ax < geluClamp) {
		ax = geluClamp
	}
	// exp(-x²/2) with x² = xx + e exactly: exp(-xx/2)·(1 - e/2).
	xx := float32(ax * ax)
	e := fma32(ax, ax, -xx)
	g = exp32(float32(-0.5 * xx))
	g = fma32(float32(-0.5*e), g, g)

	z := float32(sqrtHalf * ax)
	t := 1 / fma32(erfcP, z, 1)
	q := erfcPoly[len(erfcPoly)-1]
	for k := len(erfcPoly) - 2; k >= 0; k-- {
		q = fma32(q, t, erfcPoly[k])
	}
	q = float32(t * q)
	c := float32(0.5 * float32(g*q))
	if math.Signbit(float64(x)) {
		return c, g
	}
	return 1 - c, g
}

func geluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		phi, _ := gaussCDF32(v)
		dst[i] = float32(v * phi)
	}
}

func geluBackwardGeneric(dst, dy, x []float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	for i, v := range x {
		phi, g := gaussCDF32(v)
		d := fma32(v, float32(invSqrt2Pi*g), phi)
		dst[i] = float32(dy[i] * d)
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
		dst[i] = fma32(-s, exp32(v), dy[i])
	}
}

func normAffineGeneric(dst, x, gamma, beta []float32, m, rs float32) {
	dst, gamma, beta = dst[:len(x)], gamma[:len(x)], beta[:len(x)]
	for i, v := range x {
		xh := float32(float32(v-m) * rs)
		dst[i] = fma32(xh, gamma[i], beta[i])
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
		xh := float32(float32(v-m) * rs)
		g := float32(float32(dy[i]*gamma[i]) - mg)
		dx[i] = float32(rs * fma32(-xh, mgx, g))
	}
}

func bnBackwardDxGeneric(dx, g, x []float32, s, mg, mu, rs, mgx float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	for i, v := range x {
		xh := float32(float32(float32(v-mu)*rs) * mgx)
		dx[i] = float32(dx[i] + float32(s*float32(float32(g[i]-mg)-xh)))
	}
}
