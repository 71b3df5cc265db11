package kernels

import "fmt"

// Activation is an elementwise function a GEMM epilogue applies to C.
type Activation int

// The activations an Epilogue can apply.
const (
	ActNone      Activation = iota
	ActReLU                 // max(x, 0)
	ActGELU                 // x·Φ(x), as GELU
	ActQuickGELU            // x·σ(1.702x), as QuickGELU (CLIP)
)

// Epilogue is work fused into the store of C: after C = alpha*op(A)*op(B) +
// beta*C, every element becomes
//
//	C[i][j] = Act(C[i][j] + Bias[j])
//
// A Linear layer's y = act(x·Wᵀ + b) is then a single pass over y, done on
// each 32-column strip of C while it is still in cache. With Out, C keeps
// C + Bias and Act(C + Bias) goes to Out instead, so a training step gets
// both the activation's input (for its gradient) and its output from one
// pass. The zero Epilogue does nothing.
type Epilogue struct {
	Bias []float32 // n values, one per column of C; nil adds nothing
	Act  Activation
	// Out, if not nil, receives Act(C + Bias) with C's leading dimension;
	// it must not overlap C or Bias. It needs an Act.
	Out []float32
}

// SgemmEpilogue computes C = Act(alpha*op(A)*op(B) + beta*C + Bias) like
// Sgemm, with the epilogue ep applied to C as it is produced. It panics like
// Sgemm, and when len(ep.Bias) is neither 0 nor n, ep.Bias overlaps C, or
// ep.Act is unknown.
func SgemmEpilogue(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	checkEpilogue("SgemmEpilogue", ep, m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		ep.apply(c, ldc, 0, m, 0, n)
		return
	}
	kern := kernelFor(current)
	j := sgemmJob{
		kern: kern, blk: blockingFor(kern),
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		ep: ep,
	}
	j.run()
}

// SgemmPackedEpilogue is SgemmPacked with the epilogue ep, as in SgemmEpilogue.
func SgemmPackedEpilogue(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, ep Epilogue) {
	if pb == nil {
		panic("kernels: SgemmPackedEpilogue: nil PackedB")
	}
	checkEpilogue("SgemmPackedEpilogue", ep, m, pb.n, c, ldc)
	sgemmPacked("SgemmPackedEpilogue", transA, m, alpha, a, lda, pb, beta, c, ldc, ep)
}

func checkEpilogue(op string, ep Epilogue, m, n int, c []float32, ldc int) {
	if ep.Bias != nil && len(ep.Bias) != n {
		panic(fmt.Sprintf("kernels: %s: len(Bias)=%d, want n=%d", op, len(ep.Bias), n))
	}
	if ep.Act < ActNone || ep.Act > ActQuickGELU {
		panic(fmt.Sprintf("kernels: %s: unknown Activation %d", op, ep.Act))
	}
	if len(ep.Bias) > 0 && m > 0 && n > 0 && len(c) > 0 && overlaps(c, m, n, ldc, ep.Bias, 1, n, n) {
		panic(fmt.Sprintf("kernels: %s: Bias overlaps C", op))
	}
	if ep.Out == nil || m == 0 || n == 0 {
		return
	}
	switch {
	case ep.Act == ActNone:
		panic(fmt.Sprintf("kernels: %s: Out without an Activation", op))
	case len(ep.Out) < (m-1)*ldc+n:
		panic(fmt.Sprintf("kernels: %s: len(Out)=%d, want at least %d", op, len(ep.Out), (m-1)*ldc+n))
	case overlaps(c, m, n, ldc, ep.Out, m, n, ldc):
		panic(fmt.Sprintf("kernels: %s: Out overlaps C", op))
	case len(ep.Bias) > 0 && overlaps(ep.Out, m, n, ldc, ep.Bias, 1, n, n):
		panic(fmt.Sprintf("kernels: %s: Bias overlaps Out", op))
	}
}

// apply runs the epilogue on C[r0:r1, c0:c1].
func (ep *Epilogue) apply(c []float32, ldc, r0, r1, c0, c1 int) {
	if ep.Bias == nil && ep.Act == ActNone {
		return
	}
	// The primitives directly: apply already runs on one worker per tile,
	// and the public kernels' checks and hand-offs cost more than a row.
	k := elt()
	var act func(dst, x []float32)
	switch ep.Act {
	case ActReLU:
		act = k.relu
	case ActGELU:
		act = k.gelu
	case ActQuickGELU:
		act = k.quickGELU
	}
	for r := r0; r < r1; r++ {
		row := c[r*ldc+c0 : r*ldc+c1]
		if ep.Bias != nil {
			k.add(row, row, ep.Bias[c0:c1])
		}
		switch {
		case act == nil:
		case ep.Out != nil:
			act(ep.Out[r*ldc+c0:r*ldc+c1], row)
		default:
			act(row, row)
		}
	}
}
