package kernels

import "unsafe"

// overlaps reports whether the memory spanned by the matrix c (rows×cols,
// stride ldc) and the matrix x (xr×xc, stride ldx) intersect.
func overlaps(c []float32, rows, cols, ldc int, x []float32, xr, xc, ldx int) bool {
	if rows == 0 || cols == 0 || xr == 0 || xc == 0 {
		return false
	}
	c0 := uintptr(unsafe.Pointer(&c[0]))
	c1 := c0 + uintptr((rows-1)*ldc+cols)*4
	x0 := uintptr(unsafe.Pointer(&x[0]))
	x1 := x0 + uintptr((xr-1)*ldx+xc)*4
	return c0 < x1 && x0 < c1
}
