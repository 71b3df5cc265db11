package ptxgen

import "strconv"

// eltwise returns an elementwise kernel over n elements: each thread
// starts at its global index and strides by the grid's size. ins are the
// pointer parameters read at i; body computes, from their values and the
// scalar parameters, the value of each pointer parameter written at i.
func (g gen) eltwise(name, doc string, params []param, ins []string, body func(e *fn, v map[string]string) map[string]string) string {
	e := newFn(name, params)
	v := e.load()
	ctaid, ntid, tid, i, nctaid, stride, done := e.r32(), e.r32(), e.r32(), e.r32(), e.r32(), e.r32(), e.pred()
	e.op("mov.u32 %s, %%ctaid.x", ctaid)
	e.op("mov.u32 %s, %%ntid.x", ntid)
	e.op("mov.u32 %s, %%tid.x", tid)
	e.op("mad.lo.u32 %s, %s, %s, %s", i, ctaid, ntid, tid)
	e.op("mov.u32 %s, %%nctaid.x", nctaid)
	e.op("mul.lo.u32 %s, %s, %s", stride, nctaid, ntid)
	e.op("setp.ge.u32 %s, %s, %s", done, i, v["n"])
	e.op("@%s bra $Ldone", done)
	e.label("$Lloop")
	vals := map[string]string{}
	for k, r := range v {
		vals[k] = r
	}
	addr := map[string]string{}
	for _, p := range params {
		if p.typ == ".u64" {
			addr[p.name] = e.address(v[p.name], i)
		}
	}
	for _, in := range ins {
		x := e.f32()
		e.op("ld.global.f32 %s, [%s]", x, addr[in])
		vals[in] = x
	}
	out := body(e, vals)
	for _, p := range params {
		if r, ok := out[p.name]; ok {
			e.op("st.global.f32 [%s], %s", addr[p.name], r)
		}
	}
	more := e.pred()
	e.op("add.u32 %s, %s, %s", i, i, stride)
	e.op("setp.lt.u32 %s, %s, %s", more, i, v["n"])
	e.op("@%s bra $Lloop", more)
	e.label("$Ldone")
	e.op("ret")
	return e.text(doc)
}

// row holds the registers of a row kernel: one block per row, RowBlock
// threads striding over its columns.
type row struct {
	e         *fn
	v         map[string]string
	tid, cols string
	labels    int
}

// newRow emits the start of a row kernel: the row's offset into the
// pointers in rowPtrs.
func (g gen) newRow(name string, params []param, rowPtrs []string) *row {
	e := newFn(name, params)
	r := &row{e: e, v: e.load()}
	r.tid, r.cols = e.r32(), r.v["cols"]
	rowIdx, start := e.r32(), e.r32()
	e.op("mov.u32 %s, %%tid.x", r.tid)
	e.op("mov.u32 %s, %%ctaid.x", rowIdx)
	r.v["row"] = rowIdx
	e.op("mul.lo.u32 %s, %s, %s", start, rowIdx, r.cols)
	for _, p := range rowPtrs {
		r.v[p] = e.address(r.v[p], start)
	}
	return r
}

// loop emits for j = tid; j < cols; j += RowBlock { body(j) }.
func (r *row) loop(body func(j string)) {
	e := r.e
	r.labels++
	top, end := label("$Lrow", r.labels), label("$Lrowend", r.labels)
	j, p := e.r32(), e.pred()
	e.op("mov.u32 %s, %s", j, r.tid)
	e.label(top)
	e.op("setp.ge.u32 %s, %s, %s", p, j, r.cols)
	e.op("@%s bra %s", p, end)
	body(j)
	e.op("add.u32 %s, %s, %d", j, j, RowBlock)
	e.op("bra.uni %s", top)
	e.label(end)
}

// reduce emits a reduction over the block of each thread's value x (.f64
// or .f32, combined with inst) and returns the total, known to every
// thread. The halving order is fixed: element l adds element l+h for h =
// RowBlock/2, ..., 1.
func (r *row) reduce(x, typ, inst string) string {
	e := r.e
	arr, size, reg := "vlp_red64", 8, e.f64
	if typ == ".f32" {
		arr, size, reg = "vlp_red32", 4, e.f32
	}
	base, off, a := e.r64(), e.r64(), e.r64()
	e.op("mov.u64 %s, %s", base, arr)
	e.op("mul.wide.u32 %s, %s, %d", off, r.tid, size)
	e.op("add.s64 %s, %s, %s", a, base, off)
	e.op("st.shared%s [%s], %s", typ, a, x)
	e.op("bar.sync 0")
	for h := RowBlock / 2; h > 0; h /= 2 {
		r.labels++
		skip := label("$Lred", r.labels)
		p, u, w := e.pred(), reg(), reg()
		e.op("setp.ge.u32 %s, %s, %d", p, r.tid, h)
		e.op("@%s bra %s", p, skip)
		e.op("ld.shared%s %s, [%s]", typ, u, a)
		e.op("ld.shared%s %s, [%s+%d]", typ, w, a, h*size)
		e.op("%s %s, %s, %s", inst, u, u, w)
		e.op("st.shared%s [%s], %s", typ, a, u)
		e.label(skip)
		e.op("bar.sync 0")
	}
	total := reg()
	e.op("ld.shared%s %s, [%s]", typ, total, base)
	e.op("bar.sync 0")
	return total
}

// label returns a label of the kernel, prefix and a number.
func label(prefix string, n int) string { return prefix + strconv.Itoa(n) }

// softmaxRows returns the kernel of kernels.SoftmaxRows: the row's max,
// the float64 sum of exp(x-max), then exp(x-max)·(1/sum).
func (g gen) softmaxRows() string {
	p, u := ".u64", ".u32"
	r := g.newRow("vlp_softmax_rows", []param{{"dst", p}, {"x", p}, {"rows", u}, {"cols", u}}, []string{"dst", "x"})
	e := r.e
	m := e.f32()
	e.op("mov.f32 %s, 0fFF800000", m)
	r.loop(func(j string) {
		x := e.f32()
		e.op("ld.global.f32 %s, [%s]", x, e.address(r.v["x"], j))
		e.op("max.f32 %s, %s, %s", m, m, x)
	})
	m = r.reduce(m, ".f32", "max.f32")
	expAt := func(j string) string {
		x, d := e.f32(), e.f32()
		e.op("ld.global.f32 %s, [%s]", x, e.address(r.v["x"], j))
		e.op("sub.rn.f32 %s, %s, %s", d, x, m)
		return g.exp(e, d)
	}
	s := e.f64()
	e.op("mov.f64 %s, %s", s, f64c(0))
	r.loop(func(j string) {
		x := expAt(j)
		w := e.f64()
		e.op("cvt.f64.f32 %s, %s", w, x)
		e.op("add.rn.f64 %s, %s, %s", s, s, w)
	})
	s = r.reduce(s, ".f64", "add.rn.f64")
	s32, inv := e.f32(), e.f32()
	e.op("cvt.rn.f32.f64 %s, %s", s32, s)
	e.op("div.rn.f32 %s, %s, %s", inv, f32c(1), s32)
	r.loop(func(j string) {
		x, y := expAt(j), e.f32()
		e.op("mul.rn.f32 %s, %s, %s", y, inv, x)
		e.op("st.global.f32 [%s], %s", e.address(r.v["dst"], j), y)
	})
	e.op("ret")
	return e.text("dst = softmax(x) over each row; one block per row")
}

// layerNormRows returns the kernel of kernels.LayerNormRows: the mean from
// the float64 sum, the variance from the float64 sum of squared deviations
// from the float32 mean, rstd = 1/sqrt(var+eps) in float64, and
// dst = fma((x-mean)·rstd, gamma, beta).
func (g gen) layerNormRows() string {
	p, u, f := ".u64", ".u32", ".f32"
	r := g.newRow("vlp_layernorm_rows", []param{{"dst", p}, {"mean", p}, {"rstd", p}, {"x", p}, {"gamma", p}, {"beta", p},
		{"rows", u}, {"cols", u}, {"eps", f}}, []string{"dst", "x"})
	e := r.e
	load := func(ptr, j string) string {
		x := e.f32()
		e.op("ld.global.f32 %s, [%s]", x, e.address(r.v[ptr], j))
		return x
	}
	ncols := e.f32()
	e.op("cvt.rn.f32.u32 %s, %s", ncols, r.cols)
	s := e.f64()
	e.op("mov.f64 %s, %s", s, f64c(0))
	r.loop(func(j string) {
		w := e.f64()
		e.op("cvt.f64.f32 %s, %s", w, load("x", j))
		e.op("add.rn.f64 %s, %s, %s", s, s, w)
	})
	s = r.reduce(s, ".f64", "add.rn.f64")
	s32, m := e.f32(), e.f32()
	e.op("cvt.rn.f32.f64 %s, %s", s32, s)
	e.op("div.rn.f32 %s, %s, %s", m, s32, ncols)
	q := e.f64()
	e.op("mov.f64 %s, %s", q, f64c(0))
	r.loop(func(j string) {
		d, w := e.f32(), e.f64()
		e.op("sub.rn.f32 %s, %s, %s", d, load("x", j), m)
		e.op("cvt.f64.f32 %s, %s", w, d)
		e.op("fma.rn.f64 %s, %s, %s, %s", q, w, w, q)
	})
	q = r.reduce(q, ".f64", "add.rn.f64")
	q32, v, v64, eps64, sq, rs64, rs := e.f32(), e.f32(), e.f64(), e.f64(), e.f64(), e.f64(), e.f32()
	e.op("cvt.rn.f32.f64 %s, %s", q32, q)
	e.op("div.rn.f32 %s, %s, %s", v, q32, ncols)
	e.op("cvt.f64.f32 %s, %s", v64, v)
	e.op("cvt.f64.f32 %s, %s", eps64, r.v["eps"])
	e.op("add.rn.f64 %s, %s, %s", v64, v64, eps64)
	e.op("sqrt.rn.f64 %s, %s", sq, v64)
	e.op("div.rn.f64 %s, %s, %s", rs64, f64c(1), sq)
	e.op("cvt.rn.f32.f64 %s, %s", rs, rs64)
	notFirst := e.pred()
	e.op("setp.ne.u32 %s, %s, 0", notFirst, r.tid)
	e.op("@%s bra $Lstats", notFirst)
	e.op("st.global.f32 [%s], %s", e.address(r.v["mean"], r.v["row"]), m)
	e.op("st.global.f32 [%s], %s", e.address(r.v["rstd"], r.v["row"]), rs)
	e.label("$Lstats")
	r.loop(func(j string) {
		d, xh, y := e.f32(), e.f32(), e.f32()
		e.op("sub.rn.f32 %s, %s, %s", d, load("x", j), m)
		e.op("mul.rn.f32 %s, %s, %s", xh, d, rs)
		e.op("fma.rn.f32 %s, %s, %s, %s", y, xh, load("gamma", j), load("beta", j))
		e.op("st.global.f32 [%s], %s", e.address(r.v["dst"], j), y)
	})
	e.op("ret")
	return e.text("layer norm of each row with its mean and rstd; one block per row")
}
