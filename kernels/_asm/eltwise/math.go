package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// exp(x) = 2^n · e^r with n = round(x·log2 e) and r = x - n·ln 2, |r| ≤ ln2/2.
// e^r is its Taylor polynomial of degree expDegree: the first omitted term
// is below (ln2/2)^8/8! = 5.2e-9, a tenth of a float32 ulp, so the error is
// the float32 rounding of the Horner steps (under 1 ulp measured).
const (
	expDegree = 7
	// Inputs are clamped to [expLo, expHi]: exp(expLo) rounds to 0 and
	// exp(expHi) overflows to +Inf, and 2^n stays within two normal factors.
	expLo = -104
	expHi = 89
)

// expCoefficients returns 1/k! for k = 0..expDegree.
func expCoefficients() []float64 {
	c := make([]float64, expDegree+1)
	f := 1.0
	for k := range c {
		if k > 0 {
			f *= float64(k)
		}
		c[k] = 1 / f
	}
	return c
}

// exp returns exp(x) for every lane of x; x is not modified. NaN stays NaN,
// large negative x gives 0 (through the subnormals) and large positive x +Inf.
func (a *arch) exp(x VecVirtual) VecVirtual {
	// u = min(max(x, expLo), expHi). VMAXPS and VMINPS return their second
	// source (the Go first operand) when either input is NaN, so NaN survives.
	t := a.splat(cExpLo)
	VMAXPS(x, t, t)
	u := a.splat(cExpHi)
	VMINPS(t, u, u)

	// n = round(u·log2 e), as an integer (ni) and a float (nf).
	nf, ni := a.vec(), a.vec()
	VMULPS(cst(cLog2E), u, nf)
	VCVTPS2DQ(nf, ni)
	VCVTDQ2PS(ni, nf)

	// r = u - n·ln2, in two steps (Cody-Waite).
	VFNMADD231PS(cst(cLn2Hi), nf, u)
	VFNMADD231PS(cst(cLn2Lo), nf, u)

	// p = Σ r^k/k!, Horner from the highest term.
	p := a.splat(cExpPoly + expDegree)
	for k := expDegree - 1; k >= 0; k-- {
		VFMADD213PS(cst(cExpPoly+k), u, p)
	}

	// p · 2^n as p · 2^(n>>1) · 2^(n-n>>1): each factor is a normal float32
	// for n in [-150, 129], and the last product rounds into the subnormals
	// or to +Inf exactly as exp would.
	n1 := a.vec()
	VPSRAD(U8(1), ni, n1)
	VPSUBD(n1, ni, ni)
	VPADDD(cst(cExpBias), n1, n1)
	VPSLLD(U8(23), n1, n1)
	VPADDD(cst(cExpBias), ni, ni)
	VPSLLD(U8(23), ni, ni)
	VMULPS(n1, p, p)
	VMULPS(ni, p, p)
	return p
}

// erfc(z) for z ≥ 0 is written exp(-z²)·f(z) with f(z) = exp(z²)·erfc(z),
// which falls smoothly from 1 to 0 like 1/(z√π). With t = 1/(1+erfcP·z),
// f = t·P(t), and P is the degree-erfcDegree polynomial interpolating
// f/t at the Chebyshev points of t ∈ [0, 1]. Evaluated in float32, f has a
// relative error below 3e-7 for every z, and GELU built on it is within
// 1.2e-6 relative of x·Φ(x) wherever the result is a normal float32; the
// GELU derivative is within 1.5e-7 absolute (both measured over [-14, 14]
// in steps of 3.7e-4, see kernels' tests).
const (
	erfcDegree = 10
	erfcP      = 0.5
)

// erfcCoefficients returns the monomial coefficients of P, constant first.
func erfcCoefficients() []float64 {
	g := func(t float64) float64 {
		if t == 0 {
			return erfcP / math.Sqrt(math.Pi)
		}
		z := (1 - t) / (erfcP * t)
		if z > 25 {
			// exp(z²) overflows; use the asymptotic series of f, whose
			// next term is below 1e-10 here.
			u := 1 / (2 * z * z)
			return (1 - u + 3*u*u - 15*u*u*u) / (math.Sqrt(math.Pi) * z * t)
		}
		return math.Exp(z*z) * math.Erfc(z) / t
	}
	n := erfcDegree + 1
	ts, dd := make([]float64, n), make([]float64, n)
	for i := range ts {
		ts[i] = (1 + math.Cos(math.Pi*(float64(i)+0.5)/float64(n))) / 2
		dd[i] = g(ts[i])
	}
	// Newton divided differences, then expand the Newton form.
	for j := 1; j < n; j++ {
		for i := n - 1; i >= j; i-- {
			dd[i] = (dd[i] - dd[i-1]) / (ts[i] - ts[i-j])
		}
	}
	c := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		// c = c·(t - ts[i]) + dd[i]
		for k := n - 1; k > 0; k-- {
			c[k] = c[k-1] - c[k]*ts[i]
		}
		c[0] = dd[i] - c[0]*ts[i]
	}
	return c
}

// gaussCDF returns Φ(x), the standard normal CDF, and g = exp(-x²/2) for
// every lane of x; x is not modified.
func (a *arch) gaussCDF(x VecVirtual) (phi, g VecVirtual) {
	// ax = min(|x|, 20): beyond 20, Φ is 0 or 1 and g is 0 in float32, and
	// the clamp keeps x² finite.
	ax := a.vec()
	VANDPS(cst(cAbsMask), x, ax)
	VMINPS(cst(cGELUClamp), ax, ax)

	// g = exp(-x²/2). x² = xx + e exactly (FMA), and
	// exp(-(xx+e)/2) = exp(-xx/2)·(1 - e/2) to float32 accuracy.
	xx, e := a.vec(), a.vec()
	VMULPS(ax, ax, xx)
	VMOVAPS(xx, e)
	VFMSUB231PS(ax, ax, e)
	h := a.vec()
	VMULPS(cst(cNegHalf), xx, h)
	g = a.exp(h)
	VMULPS(cst(cNegHalf), e, e)
	VFMADD213PS(g, e, g)

	// f(z) = t·P(t), z = |x|/√2, t = 1/(1+erfcP·z).
	z := a.vec()
	VMULPS(cst(cSqrtHalf), ax, z)
	d := a.splat(cOne)
	VFMADD231PS(cst(cErfcP), z, d)
	t := a.splat(cOne)
	VDIVPS(d, t, t)
	q := a.splat(cErfcPoly + erfcDegree)
	for k := erfcDegree - 1; k >= 0; k-- {
		VFMADD213PS(cst(cErfcPoly+k), t, q)
	}
	VMULPS(t, q, q)

	// c = Φ(-|x|) = erfc(z)/2; Φ(x) = c for x < 0 and 1 - c otherwise.
	c := a.vec()
	VMULPS(g, q, c)
	VMULPS(cst(cHalf), c, c)
	omc := a.splat(cOne)
	VSUBPS(c, omc, omc)
	return a.selectNeg(x, c, omc), g
}
