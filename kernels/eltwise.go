package kernels

import (
	"fmt"
	"math"
)

// This file defines the elementwise and row-wise kernels. Each exported
// function checks its arguments and calls the implementation picked for the
// CPU; the pure-Go bodies below are the reference for the assembly versions.

func checkLen(op string, n int, xs ...[]float32) {
	for _, x := range xs {
		if len(x) != n {
			panic(fmt.Sprintf("kernels: %s: slice lengths do not match (%d vs %d)", op, len(x), n))
		}
	}
}

func checkRows(op string, n, cols int) {
	if cols <= 0 || n%cols != 0 {
		panic(fmt.Sprintf("kernels: %s: length %d is not a multiple of cols=%d", op, n, cols))
	}
}

// Axpy computes y += alpha*x.
func Axpy(alpha float32, x, y []float32) {
	checkLen("Axpy", len(y), x)
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale computes dst = alpha*x.
func Scale(dst []float32, alpha float32, x []float32) {
	checkLen("Scale", len(dst), x)
	for i, v := range x {
		dst[i] = alpha * v
	}
}

// Add computes dst = x + y.
func Add(dst, x, y []float32) {
	checkLen("Add", len(dst), x, y)
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

// Mul computes dst = x * y elementwise.
func Mul(dst, x, y []float32) {
	checkLen("Mul", len(dst), x, y)
	for i := range dst {
		dst[i] = x[i] * y[i]
	}
}

// Sum returns the sum of x, accumulated in float64 for accuracy.
func Sum(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return float32(s)
}

// Dot returns the dot product of x and y, accumulated in float64.
func Dot(x, y []float32) float32 {
	checkLen("Dot", len(x), y)
	var s float64
	for i, v := range x {
		s += float64(v) * float64(y[i])
	}
	return float32(s)
}

// Exp computes dst = exp(x).
func Exp(dst, x []float32) {
	checkLen("Exp", len(dst), x)
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// QuickGELU computes dst = x*sigmoid(1.702x), CLIP's activation.
func QuickGELU(dst, x []float32) {
	checkLen("QuickGELU", len(dst), x)
	for i, v := range x {
		dst[i] = v / (1 + float32(math.Exp(float64(-1.702*v))))
	}
}

// QuickGELUBackward computes dx = dy * d/dx[x*sigmoid(1.702x)].
func QuickGELUBackward(dx, dy, x []float32) {
	checkLen("QuickGELUBackward", len(dx), dy, x)
	for i, v := range x {
		s := 1 / (1 + float32(math.Exp(float64(-1.702*v))))
		dx[i] = dy[i] * (s + 1.702*v*s*(1-s))
	}
}

// GELU computes dst = x*Φ(x) with the exact erf form (PyTorch's default).
func GELU(dst, x []float32) {
	checkLen("GELU", len(dst), x)
	for i, v := range x {
		dst[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUBackward computes dx = dy * d/dx[x*Φ(x)].
func GELUBackward(dx, dy, x []float32) {
	checkLen("GELUBackward", len(dx), dy, x)
	for i, v := range x {
		xf := float64(v)
		cdf := 0.5 * (1 + math.Erf(xf/math.Sqrt2))
		pdf := math.Exp(-0.5*xf*xf) / math.Sqrt(2*math.Pi)
		dx[i] = dy[i] * float32(cdf+xf*pdf)
	}
}

// SoftmaxRows computes dst = softmax(x) over each row of cols elements.
// dst may be x.
func SoftmaxRows(dst, x []float32, cols int) {
	checkLen("SoftmaxRows", len(dst), x)
	checkRows("SoftmaxRows", len(x), cols)
	for r := 0; r < len(x); r += cols {
		xr, dr := x[r:r+cols], dst[r:r+cols]
		m := xr[0]
		for _, v := range xr {
			m = max(m, v)
		}
		var s float32
		for i, v := range xr {
			e := float32(math.Exp(float64(v - m)))
			dr[i] = e
			s += e
		}
		inv := 1 / s
		for i := range dr {
			dr[i] *= inv
		}
	}
}

// LogSoftmaxRows computes dst = log(softmax(x)) over each row of cols elements.
// dst may be x.
func LogSoftmaxRows(dst, x []float32, cols int) {
	checkLen("LogSoftmaxRows", len(dst), x)
	checkRows("LogSoftmaxRows", len(x), cols)
	for r := 0; r < len(x); r += cols {
		xr, dr := x[r:r+cols], dst[r:r+cols]
		m := xr[0]
		for _, v := range xr {
			m = max(m, v)
		}
		var s float64
		for _, v := range xr {
			s += math.Exp(float64(v - m))
		}
		lse := m + float32(math.Log(s))
		for i, v := range xr {
			dr[i] = v - lse
		}
	}
}

// LayerNormRows normalises each row of cols elements of x:
// dst = (x-mean)*rstd*gamma + beta, and stores each row's mean and
// rstd = 1/sqrt(var+eps) (biased variance) for the backward pass.
// gamma and beta may be nil (no affine transform).
func LayerNormRows(dst, mean, rstd, x, gamma, beta []float32, cols int, eps float32) {
	checkLen("LayerNormRows", len(dst), x)
	checkRows("LayerNormRows", len(x), cols)
	rows := len(x) / cols
	checkLen("LayerNormRows", rows, mean, rstd)
	if gamma != nil {
		checkLen("LayerNormRows", cols, gamma)
	}
	if beta != nil {
		checkLen("LayerNormRows", cols, beta)
	}
	for r := 0; r < rows; r++ {
		xr, dr := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(cols)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mu
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(cols)+float64(eps))
		mean[r], rstd[r] = float32(mu), float32(rs)
		m, rsf := float32(mu), float32(rs)
		for i, v := range xr {
			y := (v - m) * rsf
			if gamma != nil {
				y *= gamma[i]
			}
			if beta != nil {
				y += beta[i]
			}
			dr[i] = y
		}
	}
}

// LayerNormRowsBackward computes the gradient of LayerNormRows. It writes dx
// and adds into dgamma and dbeta (either may be nil). mean and rstd are the
// values LayerNormRows stored; gamma may be nil.
func LayerNormRowsBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, cols int) {
	checkLen("LayerNormRowsBackward", len(dx), dy, x)
	checkRows("LayerNormRowsBackward", len(x), cols)
	rows := len(x) / cols
	checkLen("LayerNormRowsBackward", rows, mean, rstd)
	for r := 0; r < rows; r++ {
		xr, dyr, dxr := x[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
		m, rs := mean[r], rstd[r]
		// With xhat = (x-m)*rs and g = dy*gamma:
		// dx = rs * (g - mean(g) - xhat*mean(g*xhat)).
		var sg, sgx float64
		for i, v := range xr {
			xh := (v - m) * rs
			g := dyr[i]
			if gamma != nil {
				g *= gamma[i]
			}
			sg += float64(g)
			sgx += float64(g * xh)
			if dgamma != nil {
				dgamma[i] += dyr[i] * xh
			}
			if dbeta != nil {
				dbeta[i] += dyr[i]
			}
		}
		mg := float32(sg / float64(cols))
		mgx := float32(sgx / float64(cols))
		for i, v := range xr {
			xh := (v - m) * rs
			g := dyr[i]
			if gamma != nil {
				g *= gamma[i]
			}
			dxr[i] = rs * (g - mg - xh*mgx)
		}
	}
}
