package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Loop unrolling, in vectors per iteration: cheap arithmetic is bound by
// loads and stores and wants several in flight; the transcendental kernels
// have enough independent work inside one vector.
const (
	unrollArith  = 4
	unrollReduce = 4
	unrollMath   = 2
)

func ptr(name string) GPVirtual {
	return Load(Param(name).Base(), GP64()).(GPVirtual)
}

func length(name string) GPVirtual {
	return Load(Param(name).Len(), GP64()).(GPVirtual)
}

// unary emits dst[i] = f(x[i]) over len(dst) elements.
func (a *arch) unary(base, doc string, unroll int, f func(x VecVirtual) VecVirtual) {
	a.fn(base, "(dst, x []float32)", "for i := range dst {", "\t"+doc, "}")
	dst, x, n := ptr("dst"), ptr("x"), length("dst")
	a.loop(n, unroll, func(off Register, j int, tail bool) {
		a.store(f(a.load(a.at(x, off, j), tail)), a.at(dst, off, j), tail)
	})
	end()
}

// binary emits dst[i] = f(x[i], y[i]) over len(dst) elements, where x and y
// are the parameters named xn and yn.
func (a *arch) binary(base, xn, yn, doc string, unroll int, f func(x, y VecVirtual) VecVirtual) {
	a.fn(base, "(dst, "+xn+", "+yn+" []float32)", "for i := range dst {", "\t"+doc, "}")
	dst, x, y, n := ptr("dst"), ptr(xn), ptr(yn), length("dst")
	a.loop(n, unroll, func(off Register, j int, tail bool) {
		v := a.load(a.at(x, off, j), tail)
		w := a.load(a.at(y, off, j), tail)
		a.store(f(v, w), a.at(dst, off, j), tail)
	})
	end()
}

func genArith(a *arch) {
	a.fn("axpy", "(alpha float32, x, y []float32)", "for i, v := range x {", "\ty[i] += alpha * v", "}")
	{
		alpha := a.broadcast("alpha")
		x, y, n := ptr("x"), ptr("y"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			w := a.load(a.at(y, off, j), tail)
			VFMADD231PS(v, alpha, w)
			a.store(w, a.at(y, off, j), tail)
		})
		end()
	}

	a.fn("addRows", "(dst []float32, ldd int, x []float32, ldx, rows, n int)",
		"for i := 0; i < rows; i++ {", "\tfor j := 0; j < n; j++ {", "\t\tdst[i*ldd+j] += x[i*ldx+j]", "\t}", "}")
	{
		dst, x := ptr("dst"), ptr("x")
		ldd := Load(Param("ldd"), GP64())
		SHLQ(U8(2), ldd)
		ldx := Load(Param("ldx"), GP64())
		SHLQ(U8(2), ldx)
		rows := Load(Param("rows"), GP64())
		TESTQ(rows, rows)
		JZ(LabelRef("rowsdone"))
		Label("row")
		n := Load(Param("n"), GP64()).(GPVirtual)
		var rem GPVirtual
		if !a.isAVX512() {
			// AVX2's masked store is slow on AMD, and short rows (the
			// 4 to 32 pixels of small images) would pay it on every row:
			// the last n%8 elements are added one at a time instead.
			rem = GP64()
			MOVQ(n, rem)
			ANDQ(U8(a.lanes-1), rem)
			SUBQ(rem, n)
		}
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			w := a.load(a.at(dst, off, j), tail)
			VADDPS(v, w, w)
			a.store(w, a.at(dst, off, j), tail)
		})
		if !a.isAVX512() {
			// The vector loop stopped at element n&^7.
			off := Load(Param("n"), GP64())
			SUBQ(rem, off)
			SHLQ(U8(2), off)
			Label("scalar")
			TESTQ(rem, rem)
			JZ(LabelRef("rowend"))
			v := XMM()
			VMOVSS(Mem{Base: x, Index: off, Scale: 1}, v)
			VADDSS(Mem{Base: dst, Index: off, Scale: 1}, v, v)
			VMOVSS(v, Mem{Base: dst, Index: off, Scale: 1})
			ADDQ(U8(4), off)
			DECQ(rem)
			JMP(LabelRef("scalar"))
			Label("rowend")
		}
		ADDQ(ldd, dst)
		ADDQ(ldx, x)
		DECQ(rows)
		JNZ(LabelRef("row"))
		Label("rowsdone")
		end()
	}

	a.fn("scale", "(dst []float32, alpha float32, x []float32)", "for i, v := range x {", "\tdst[i] = alpha * v", "}")
	{
		alpha := a.broadcast("alpha")
		dst, x, n := ptr("dst"), ptr("x"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			VMULPS(alpha, v, v)
			a.store(v, a.at(dst, off, j), tail)
		})
		end()
	}

	a.fn("addConst", "(dst []float32, c float32, x []float32)", "for i, v := range x {", "\tdst[i] = v + c", "}")
	{
		c := a.broadcast("c")
		dst, x, n := ptr("dst"), ptr("x"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			VADDPS(c, v, v)
			a.store(v, a.at(dst, off, j), tail)
		})
		end()
	}

	// affine, and the fused forms of a convolution's epilogue (frozen batch
	// norm, maybe a residual, ReLU): the same instructions per element as
	// affine, add and relu run one after the other.
	genAffine(a, "affine", false, false, "dst[i] = alpha*v + beta")
	genAffine(a, "affineReLU", false, true, "v = alpha*v + beta // one rounding, as affine", "dst[i] = max(v, 0) // as relu")
	genAffine(a, "affineAddReLU", true, true, "v = alpha*v + beta // one rounding, as affine", "dst[i] = max(v+y[i], 0) // as add, then relu")

	a.binary("add", "x", "y", "dst[i] = x[i] + y[i]", unrollArith, func(x, y VecVirtual) VecVirtual {
		VADDPS(y, x, x)
		return x
	})
	a.binary("sub", "x", "y", "dst[i] = x[i] - y[i]", unrollArith, func(x, y VecVirtual) VecVirtual {
		VSUBPS(y, x, x)
		return x
	})
	a.binary("mul", "x", "y", "dst[i] = x[i] * y[i]", unrollArith, func(x, y VecVirtual) VecVirtual {
		VMULPS(y, x, x)
		return x
	})

	a.unary("relu", "if v := x[i]; v < 0 { dst[i] = 0 } else { dst[i] = v }", unrollArith, a.relu)
	a.binary("reluBackward", "dy", "x", "if x[i] > 0 { dst[i] = dy[i] } else { dst[i] = 0 }", unrollArith, func(dy, x VecVirtual) VecVirtual {
		const gtOQ = 0x1e // greater than, ordered, quiet
		z := a.zero()
		if a.isAVX512() {
			k := K()
			VCMPPS(U8(gtOQ), z, x, k)
			VMOVAPS_Z(dy, k, dy)
			return dy
		}
		VCMPPS(U8(gtOQ), z, x, x)
		VANDPS(x, dy, dy)
		return dy
	})
}

// genSGD emits the momentum SGD updates after the first step (PyTorch's
// rule), one for plain and one for Nesterov momentum. Every product and sum
// is rounded on its own, as Go computes the same loop without fused
// multiply-adds, so the update is bit for bit that of the generic code.
// genAffine emits dst = alpha·x + beta (one rounding), then adds y when add
// is set and applies the ReLU when relu is set; body is the doc's loop body.
func genAffine(a *arch, name string, add, relu bool, body ...string) {
	sig := "(dst []float32, alpha float32, x []float32, beta float32)"
	if add {
		sig = "(dst []float32, alpha float32, x []float32, beta float32, y []float32)"
	}
	doc := []string{"for i, v := range x {"}
	for _, b := range body {
		doc = append(doc, "\t"+b)
	}
	a.fn(name, sig, append(doc, "}")...)
	alpha, beta := a.broadcast("alpha"), a.broadcast("beta")
	dst, x, n := ptr("dst"), ptr("x"), length("x")
	var y GPVirtual
	if add {
		y = ptr("y")
	}
	a.loop(n, unrollArith, func(off Register, j int, tail bool) {
		v := a.load(a.at(x, off, j), tail)
		VFMADD213PS(beta, alpha, v) // v = v·alpha + beta
		if add {
			w := a.load(a.at(y, off, j), tail)
			VADDPS(w, v, v)
		}
		if relu {
			v = a.relu(v)
		}
		a.store(v, a.at(dst, off, j), tail)
	})
	end()
}

// genBatchNorm emits the data gradient of a batch norm in training, each
// product and difference rounded on its own as Go computes the loop, so
// the result is bit for bit that of the generic code.
func genBatchNorm(a *arch) {
	a.fn("bnBackwardDx", "(dx, g, x []float32, s, mg, mu, rs, mgx float32)",
		"for i := range dx {",
		"\tdx[i] += s * (g[i] - mg - (x[i]-mu)*rs*mgx)",
		"}")
	s, mg, mu, rs, mgx := a.broadcast("s"), a.broadcast("mg"), a.broadcast("mu"), a.broadcast("rs"), a.broadcast("mgx")
	dx, g, x, n := ptr("dx"), ptr("g"), ptr("x"), length("dx")
	a.loop(n, 2, func(off Register, j int, tail bool) {
		d := a.load(a.at(dx, off, j), tail)
		gv := a.load(a.at(g, off, j), tail)
		xv := a.load(a.at(x, off, j), tail)
		VSUBPS(mu, xv, xv)  // x − mu
		VMULPS(rs, xv, xv)  // ·rs
		VMULPS(mgx, xv, xv) // ·mgx
		VSUBPS(mg, gv, gv)  // g − mg
		VSUBPS(xv, gv, gv)  // (g − mg) − (x − mu)·rs·mgx
		VMULPS(s, gv, gv)
		VADDPS(gv, d, d)
		a.store(d, a.at(dx, off, j), tail)
	})
	end()
}

func genSGD(a *arch) {
	for _, nesterov := range []bool{false, true} {
		name, last := "sgdMomentum", "\td = b"
		if nesterov {
			name, last = "sgdNesterov", "\td = d + float32(mom*b)"
		}
		a.fn(name, "(w, grad, buf []float32, lr, wd, mom, damp float32)",
			"for i := range w {",
			"\td := grad[i] + float32(wd*w[i])",
			"\tb := float32(mom*buf[i]) + float32(damp*d)",
			"\tbuf[i] = b",
			last,
			"\tw[i] -= float32(lr * d)",
			"}")
		lr, wd, mom, damp := a.broadcast("lr"), a.broadcast("wd"), a.broadcast("mom"), a.broadcast("damp")
		w, grad, buf, n := ptr("w"), ptr("grad"), ptr("buf"), length("w")
		a.loop(n, 2, func(off Register, j int, tail bool) {
			wv := a.load(a.at(w, off, j), tail)
			d := a.load(a.at(grad, off, j), tail)
			b := a.load(a.at(buf, off, j), tail)
			t := a.vec()
			VMULPS(wd, wv, t)
			VADDPS(t, d, d) // d = grad + wd·w
			VMULPS(mom, b, b)
			VMULPS(damp, d, t)
			VADDPS(t, b, b) // b = mom·buf + damp·d
			a.store(b, a.at(buf, off, j), tail)
			if nesterov {
				VMULPS(mom, b, t)
				VADDPS(t, d, d) // d = d + mom·b
			} else {
				d = b
			}
			VMULPS(lr, d, t)
			VSUBPS(t, wv, wv) // w = w - lr·d
			a.store(wv, a.at(w, off, j), tail)
		})
		end()
	}
}

func genReductions(a *arch) {
	// Sums and dot products accumulate in float64 lanes, so long vectors
	// lose nothing to the accumulation; every sum takes the canonical order
	// of loop16.
	a.fn("sum", "(x []float32) float32", "var s float64", "for _, v := range x {", "\ts += float64(v)", "}", "return float32(s)")
	{
		x, n := ptr("x"), length("x")
		lo, hi := a.zeros(a.reduceVecs()), a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			var l, h VecVirtual
			if tail {
				l, h = a.widen(a.load(a.at(x, off, j), true))
			} else {
				l, h = a.widenMem(a.at(x, off, j))
			}
			VADDPD(l, lo[j], lo[j])
			VADDPD(h, hi[j], hi[j])
		})
		Store(a.reduceAddPD16(lo, hi), ReturnIndex(0))
		end()
	}

	a.fn("dot", "(x, y []float32) float32", "var s float64", "for i, v := range x {", "\ts += float64(v) * float64(y[i])", "}", "return float32(s)")
	{
		x, y, n := ptr("x"), ptr("y"), length("x")
		lo, hi := a.zeros(a.reduceVecs()), a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			var xl, xh, yl, yh VecVirtual
			if tail {
				xl, xh = a.widen(a.load(a.at(x, off, j), true))
				yl, yh = a.widen(a.load(a.at(y, off, j), true))
			} else {
				xl, xh = a.widenMem(a.at(x, off, j))
				yl, yh = a.widenMem(a.at(y, off, j))
			}
			VFMADD231PD(xl, yl, lo[j])
			VFMADD231PD(xh, yh, hi[j])
		})
		Store(a.reduceAddPD16(lo, hi), ReturnIndex(0))
		end()
	}

	a.fn("max", "(x []float32) float32", "m := float32(math.Inf(-1))", "for _, v := range x {", "\tm = max(m, v)", "}", "return m")
	{
		x, n := ptr("x"), length("x")
		acc := make([]VecVirtual, unrollReduce)
		for i := range acc {
			acc[i] = a.splat(cNegInf)
		}
		a.loop(n, unrollReduce, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			a.fillInactive(v, cNegInf, tail)
			VMAXPS(v, acc[j], acc[j])
		})
		Store(a.reduceMax(a.sumTree(acc, func(x, y, z Op) { VMAXPS(x, y, z) })), ReturnIndex(0))
		end()
	}

	a.fn("sumSqDev", "(x []float32, m float32) float32", "var s float32", "for _, v := range x {", "\ts += (v - m) * (v - m)", "}", "return s")
	{
		m := a.broadcast("m")
		x, n := ptr("x"), length("x")
		acc := a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			VSUBPS(m, v, v)
			a.zeroInactive(v, tail)
			VFMADD231PS(v, v, acc[j])
		})
		Store(a.reduceAdd16(acc), ReturnIndex(0))
		end()
	}
}

// sumTree combines the accumulators pairwise with op and returns the result.
func (a *arch) sumTree(acc []VecVirtual, op func(x, y, z Op)) VecVirtual {
	for len(acc) > 1 {
		h := len(acc) / 2
		for i := 0; i < h; i++ {
			op(acc[i+h], acc[i], acc[i])
		}
		acc = acc[:h]
	}
	return acc[0]
}

func genActivations(a *arch) {
	a.unary("exp", "dst[i] = exp(x[i])", unrollMath, a.exp)

	a.unary("sigmoid", "dst[i] = 1 / (1 + exp(-x[i]))", unrollMath, func(x VecVirtual) VecVirtual {
		t := a.vec()
		VXORPS(t, t, t)
		VSUBPS(x, t, t)
		e := a.exp(t)
		VADDPS(cst(cOne), e, e)
		s := a.splat(cOne)
		VDIVPS(e, s, s)
		return s
	})

	a.unary("quickGELU", "dst[i] = x[i] / (1 + exp(-1.702*x[i]))", unrollMath, func(x VecVirtual) VecVirtual {
		t := a.vec()
		VMULPS(cst(cNegQuickGELU), x, t)
		e := a.exp(t)
		VADDPS(cst(cOne), e, e)
		VDIVPS(e, x, x)
		return x
	})

	a.binary("quickGELUBackward", "dy", "x", "s := 1 / (1 + exp(-1.702*x[i])); dst[i] = dy[i] * (s + 1.702*x[i]*s*(1-s))", unrollMath, func(dy, x VecVirtual) VecVirtual {
		t := a.vec()
		VMULPS(cst(cNegQuickGELU), x, t)
		e := a.exp(t)
		VADDPS(cst(cOne), e, e)
		s := a.splat(cOne)
		VDIVPS(e, s, s)
		oms := a.splat(cOne)
		VSUBPS(s, oms, oms)
		VMULPS(cst(cQuickGELU), x, x)
		VMULPS(s, x, x)
		// x = x·(1-s) + s
		VFMADD213PS(s, oms, x)
		VMULPS(x, dy, dy)
		return dy
	})

	a.unary("gelu", "dst[i] = x[i] * Φ(x[i])", unrollMath, func(x VecVirtual) VecVirtual {
		phi, _ := a.gaussCDF(x)
		VMULPS(x, phi, phi)
		return phi
	})

	a.binary("geluBackward", "dy", "x", "dst[i] = dy[i] * (Φ(x[i]) + x[i]*exp(-x[i]*x[i]/2)/√(2π))", unrollMath, func(dy, x VecVirtual) VecVirtual {
		phi, g := a.gaussCDF(x)
		VMULPS(cst(cInvSqrt2Pi), g, g)
		// phi = g·x + phi
		VFMADD231PS(x, g, phi)
		VMULPS(phi, dy, dy)
		return dy
	})
}

// accumulatePD adds the float32 lanes of v to the float64 accumulators lo
// and hi. The softmax sums use it: a row of thousands of exponentials then
// sums as accurately as the generic float64 loop.
func (a *arch) accumulatePD(v, lo, hi VecVirtual) {
	l, h := a.widen(v)
	VADDPD(l, lo, lo)
	VADDPD(h, hi, hi)
}

func genRows(a *arch) {
	a.fn("expSubSum", "(dst, x []float32, m float32) float32", "var s float64", "for i, v := range x {", "\tdst[i] = exp(v - m)", "\ts += float64(dst[i])", "}", "return float32(s)")
	{
		m := a.broadcast("m")
		dst, x, n := ptr("dst"), ptr("x"), length("x")
		lo, hi := a.zeros(a.reduceVecs()), a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			VSUBPS(m, v, v)
			e := a.exp(v)
			a.store(e, a.at(dst, off, j), tail)
			a.zeroInactive(e, tail)
			a.accumulatePD(e, lo[j], hi[j])
		})
		Store(a.reduceAddPD16(lo, hi), ReturnIndex(0))
		end()
	}

	a.fn("sumExpSub", "(x []float32, m float32) float32", "var s float64", "for _, v := range x {", "\ts += float64(exp(v - m))", "}", "return float32(s)")
	{
		m := a.broadcast("m")
		x, n := ptr("x"), length("x")
		lo, hi := a.zeros(a.reduceVecs()), a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			VSUBPS(m, v, v)
			e := a.exp(v)
			a.zeroInactive(e, tail)
			a.accumulatePD(e, lo[j], hi[j])
		})
		Store(a.reduceAddPD16(lo, hi), ReturnIndex(0))
		end()
	}

	a.fn("subConstMul", "(dst, x []float32, c float32, y []float32)", "for i, v := range x {", "\tdst[i] = (v - c) * y[i]", "}")
	{
		c := a.broadcast("c")
		dst, x, y, n := ptr("dst"), ptr("x"), ptr("y"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			w := a.load(a.at(y, off, j), tail)
			VSUBPS(c, v, v)
			VMULPS(w, v, v)
			a.store(v, a.at(dst, off, j), tail)
		})
		end()
	}

	a.fn("subExpScaled", "(dst, dy, y []float32, s float32)", "for i, v := range y {", "\tdst[i] = dy[i] - s*exp(v)", "}")
	{
		s := a.broadcast("s")
		dst, dy, y, n := ptr("dst"), ptr("dy"), ptr("y"), length("y")
		a.loop(n, unrollMath, func(off Register, j int, tail bool) {
			e := a.exp(a.load(a.at(y, off, j), tail))
			d := a.load(a.at(dy, off, j), tail)
			// d = -(e·s) + d
			VFNMADD231PS(e, s, d)
			a.store(d, a.at(dst, off, j), tail)
		})
		end()
	}

	a.fn("normAffine", "(dst, x, gamma, beta []float32, m, rs float32)", "for i, v := range x {", "\tdst[i] = (v-m)*rs*gamma[i] + beta[i]", "}")
	{
		m, rs := a.broadcast("m"), a.broadcast("rs")
		dst, x, gamma, beta, n := ptr("dst"), ptr("x"), ptr("gamma"), ptr("beta"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			g := a.load(a.at(gamma, off, j), tail)
			b := a.load(a.at(beta, off, j), tail)
			VSUBPS(m, v, v)
			VMULPS(rs, v, v)
			// b = v·g + b
			VFMADD231PS(v, g, b)
			a.store(b, a.at(dst, off, j), tail)
		})
		end()
	}

	a.fn("normBackwardSums", "(dgamma, dbeta, dy, x, gamma []float32, m, rs float32) (sg, sgx float32)",
		"for i, v := range x {",
		"\txh := (v - m) * rs",
		"\tg := dy[i] * gamma[i]",
		"\tsg += g",
		"\tsgx += g * xh",
		"\tdgamma[i] += dy[i] * xh",
		"\tdbeta[i] += dy[i]",
		"}")
	{
		m, rs := a.broadcast("m"), a.broadcast("rs")
		dgamma, dbeta, dy, x, gamma, n := ptr("dgamma"), ptr("dbeta"), ptr("dy"), ptr("x"), ptr("gamma"), length("x")
		sg, sgx := a.zeros(a.reduceVecs()), a.zeros(a.reduceVecs())
		a.loop16(n, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			d := a.load(a.at(dy, off, j), tail)
			VSUBPS(m, v, v)
			VMULPS(rs, v, v)
			dg := a.load(a.at(dgamma, off, j), tail)
			VFMADD231PS(v, d, dg)
			a.store(dg, a.at(dgamma, off, j), tail)
			db := a.load(a.at(dbeta, off, j), tail)
			VADDPS(d, db, db)
			a.store(db, a.at(dbeta, off, j), tail)
			// Inactive lanes of d are 0, so g is 0 there.
			g := a.load(a.at(gamma, off, j), tail)
			VMULPS(d, g, g)
			VADDPS(g, sg[j], sg[j])
			VFMADD231PS(g, v, sgx[j])
		})
		Store(a.reduceAdd16(sg), ReturnIndex(0))
		Store(a.reduceAdd16(sgx), ReturnIndex(1))
		end()
	}

	a.fn("normBackwardDx", "(dx, dy, x, gamma []float32, m, rs, mg, mgx float32)", "for i, v := range x {", "\txh := (v - m) * rs", "\tdx[i] = rs * (dy[i]*gamma[i] - mg - xh*mgx)", "}")
	{
		m, rs, mg, mgx := a.broadcast("m"), a.broadcast("rs"), a.broadcast("mg"), a.broadcast("mgx")
		dx, dy, x, gamma, n := ptr("dx"), ptr("dy"), ptr("x"), ptr("gamma"), length("x")
		a.loop(n, unrollArith, func(off Register, j int, tail bool) {
			v := a.load(a.at(x, off, j), tail)
			g := a.load(a.at(gamma, off, j), tail)
			d := a.load(a.at(dy, off, j), tail)
			VSUBPS(m, v, v)
			VMULPS(rs, v, v)
			VMULPS(d, g, g)
			VSUBPS(mg, g, g)
			// g = -(v·mgx) + g
			VFNMADD231PS(v, mgx, g)
			VMULPS(rs, g, g)
			a.store(g, a.at(dx, off, j), tail)
		})
		end()
	}
}
