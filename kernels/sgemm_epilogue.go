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
//	C[i][j] = Act(Scale[i]·C[i][j] + Shift[i] + Bias[j] + Add[i][j])
//
// each part present only when its field is set, in that order. A Linear
// layer's y = act(x·Wᵀ + b) is then a single pass over y, done a few
// 32-column strips of C at a time while they are still in cache; so is a convolution's
// frozen batch norm (Scale, Shift per output channel), residual (Add) and
// ReLU. With Out, C keeps the value before Act and Act's result goes to Out
// instead, so a training step gets both the activation's input (for its
// gradient) and its output from one pass. The zero Epilogue does nothing.
type Epilogue struct {
	// Scale and Shift, both or neither, hold m values, one per row of C;
	// the assembly computes Scale[i]·C + Shift[i] with one fused
	// multiply-add (kernels.Affine).
	Scale, Shift []float32
	Bias         []float32 // n values, one per column of C; nil adds nothing
	// Add, if not nil, is an m×n matrix with C's leading dimension added
	// to C; it must not overlap C.
	Add []float32
	Act Activation
	// Out, if not nil, receives the result of Act with C's leading
	// dimension while C keeps its input; it must not overlap C, Bias or
	// Add, and needs an Act.
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
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("kernels: %s: "+format, append([]any{op}, args...)...))
	}
	switch {
	case ep.Bias != nil && len(ep.Bias) != n:
		bad("len(Bias)=%d, want n=%d", len(ep.Bias), n)
	case (ep.Scale == nil) != (ep.Shift == nil):
		bad("Scale and Shift must both be set or both be nil")
	case ep.Scale != nil && (len(ep.Scale) != m || len(ep.Shift) != m):
		bad("len(Scale)=%d and len(Shift)=%d, want m=%d", len(ep.Scale), len(ep.Shift), m)
	case ep.Act < ActNone || ep.Act > ActQuickGELU:
		bad("unknown Activation %d", ep.Act)
	case ep.Out != nil && ep.Act == ActNone:
		bad("Out without an Activation")
	}
	if m == 0 || n == 0 || len(c) == 0 {
		return
	}
	size := (m-1)*ldc + n
	overlapsC := func(x []float32, rows, cols, ld int) bool {
		return len(x) > 0 && overlaps(c, m, n, ldc, x, rows, cols, ld)
	}
	switch {
	case overlapsC(ep.Bias, 1, n, n):
		bad("Bias overlaps C")
	case overlapsC(ep.Scale, 1, m, m) || overlapsC(ep.Shift, 1, m, m):
		bad("Scale or Shift overlaps C")
	case ep.Add != nil && len(ep.Add) < size:
		bad("len(Add)=%d, want at least %d", len(ep.Add), size)
	case overlapsC(ep.Add, m, n, ldc):
		bad("Add overlaps C")
	case ep.Out != nil && len(ep.Out) < size:
		bad("len(Out)=%d, want at least %d", len(ep.Out), size)
	case overlapsC(ep.Out, m, n, ldc):
		bad("Out overlaps C")
	case ep.Out != nil && len(ep.Bias) > 0 && overlaps(ep.Out, m, n, ldc, ep.Bias, 1, n, n):
		bad("Bias overlaps Out")
	case ep.Out != nil && len(ep.Add) > 0 && overlaps(ep.Out, m, n, ldc, ep.Add, m, n, ldc):
		bad("Add overlaps Out")
	}
}

// empty reports whether ep leaves C as it is.
func (ep *Epilogue) empty() bool {
	return ep.Scale == nil && ep.Bias == nil && ep.Add == nil && ep.Act == ActNone
}

// apply runs the epilogue on C[r0:r1, c0:c1].
func (ep *Epilogue) apply(c []float32, ldc, r0, r1, c0, c1 int) {
	if ep.empty() {
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
	// A frozen batch norm, maybe a residual, and a ReLU (a ResNet's
	// convolutions) run fused, in one pass over each row.
	fused := ep.Scale != nil && ep.Bias == nil && ep.Act == ActReLU && ep.Out == nil
	for r := r0; r < r1; r++ {
		row := c[r*ldc+c0 : r*ldc+c1]
		switch {
		case fused && ep.Add == nil:
			k.affineReLU(row, ep.Scale[r], row, ep.Shift[r])
			continue
		case fused:
			k.affineAddReLU(row, ep.Scale[r], row, ep.Shift[r], ep.Add[r*ldc+c0:r*ldc+c1])
			continue
		}
		if ep.Scale != nil {
			k.affine(row, ep.Scale[r], row, ep.Shift[r])
		}
		if ep.Bias != nil {
			k.add(row, row, ep.Bias[c0:c1])
		}
		if ep.Add != nil {
			k.add(row, row, ep.Add[r*ldc+c0:r*ldc+c1])
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
