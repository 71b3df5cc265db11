package cuda

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices in
// device memory, with the arguments of kernels.Sgemm: op(A) is m×k, op(B)
// is k×n, C is m×n, and lda, ldb, ldc are the row strides as stored. It is
// cuBLAS SGEMM on the column-major matrices that the same memory holds,
// the transposes: Cᵀ = alpha*op(B)ᵀ*op(A)ᵀ + beta*Cᵀ. It returns an error
// naming the bad argument where kernels.Sgemm panics.
func (d *Device) Sgemm(transA, transB bool, m, n, k int, alpha float32, a *Buffer, lda int, b *Buffer, ldb int, beta float32, c *Buffer, ldc int) error {
	if err := checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	opA, opB := int32(cublasOpN), int32(cublasOpN)
	if transA {
		opA = cublasOpT
	}
	if transB {
		opB = cublasOpT
	}
	return d.do(func() error {
		r := d.blas.cublasSgemm(d.hblas, opB, opA, int32(n), int32(m), int32(k),
			&alpha, b.devPtr(), int32(ldb), a.devPtr(), int32(lda), &beta, c.devPtr(), int32(ldc))
		return checkBLAS("cublasSgemm_v2", r)
	})
}

// checkSgemm checks the arguments of Sgemm.
func checkSgemm(transA, transB bool, m, n, k int, a *Buffer, lda int, b *Buffer, ldb int, c *Buffer, ldc int) error {
	if m < 0 || n < 0 || k < 0 || m > MaxLen || n > MaxLen || k > MaxLen {
		return fmt.Errorf("cuda: Sgemm: m=%d, n=%d, k=%d: each must be in [0, %d]", m, n, k, MaxLen)
	}
	// rows×cols of A and B as stored.
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	for _, x := range []struct {
		name       string
		buf        *Buffer
		rows, cols int
		ld         int
	}{{"A", a, ar, ac, lda}, {"B", b, br, bc, ldb}, {"C", c, m, n, ldc}} {
		if x.ld < max(1, x.cols) || x.ld > MaxLen {
			return fmt.Errorf("cuda: Sgemm: ld%s=%d for %d columns", lower(x.name), x.ld, x.cols)
		}
		if x.rows == 0 || x.cols == 0 {
			continue
		}
		if x.buf == nil {
			return fmt.Errorf("cuda: Sgemm: %s is nil", x.name)
		}
		if need := (x.rows-1)*x.ld + x.cols; need > x.buf.n {
			return fmt.Errorf("cuda: Sgemm: %s (%d×%d, stride %d) needs %d floats, the buffer holds %d", x.name, x.rows, x.cols, x.ld, need, x.buf.n)
		}
	}
	return nil
}

// lower returns the lower-case letter of a matrix name.
func lower(s string) string { return string(rune(s[0]) + 'a' - 'A') }
