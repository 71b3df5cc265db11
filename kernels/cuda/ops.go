package cuda

import "fmt"

// kernelParams lists the kernels of kernels.ptx and their parameters, in
// the order of the .param lists there (a test checks that they agree).
var kernelParams = map[string][]ParamKind{
	"vlp_add":          {ParamU64, ParamU64, ParamU64, ParamU32},
	"vlp_mul":          {ParamU64, ParamU64, ParamU64, ParamU32},
	"vlp_axpy":         {ParamF32, ParamU64, ParamU64, ParamU32},
	"vlp_scale":        {ParamU64, ParamF32, ParamU64, ParamU32},
	"vlp_relu":         {ParamU64, ParamU64, ParamU32},
	"vlp_exp":          {ParamU64, ParamU64, ParamU32},
	"vlp_sigmoid":      {ParamU64, ParamU64, ParamU32},
	"vlp_tanh":         {ParamU64, ParamU64, ParamU32},
	"vlp_quickgelu":    {ParamU64, ParamU64, ParamU32},
	"vlp_softmax_rows": {ParamU64, ParamU64, ParamU32, ParamU32},
	"vlp_layernorm_rows": {ParamU64, ParamU64, ParamU64, ParamU64, ParamU64, ParamU64,
		ParamU32, ParamU32, ParamF32},
	"vlp_sgd_momentum": {ParamU64, ParamU64, ParamU64, ParamU32,
		ParamF32, ParamF32, ParamF32, ParamF32, ParamU32},
}

// The launch shape: elementwise kernels run blockSize threads per block in
// at most maxGrid blocks, each thread striding over the array; row kernels
// run one block of rowBlock threads per row (the PTX sizes its shared
// reduction arrays for rowBlock).
const (
	blockSize = 256
	maxGrid   = 1 << 16
	rowBlock  = 256
)

// launch1D launches an elementwise kernel over n elements.
func (d *Device) launch1D(name string, n int, args *Args) error {
	grid := uint32(min((n+blockSize-1)/blockSize, maxGrid))
	return d.Launch(name, Dim3{grid, 1, 1}, Dim3{blockSize, 1, 1}, 0, args)
}

// sameLen returns the common length of bufs, or an error naming op.
func sameLen(op string, bufs ...*Buffer) (int, error) {
	for i, b := range bufs {
		if b == nil {
			return 0, fmt.Errorf("cuda: %s: argument %d is nil", op, i+1)
		}
		if b.n != bufs[0].n {
			return 0, fmt.Errorf("cuda: %s: lengths %d and %d differ", op, bufs[0].n, b.n)
		}
	}
	return bufs[0].n, nil
}

// binary launches dst = f(x, y).
func (d *Device) binary(name, op string, dst, x, y *Buffer) error {
	n, err := sameLen(op, dst, x, y)
	if err != nil {
		return err
	}
	return d.launch1D(name, n, new(Args).Ptr(dst.ptr).Ptr(x.ptr).Ptr(y.ptr).U32(uint32(n)))
}

// unary launches dst = f(x).
func (d *Device) unary(name, op string, dst, x *Buffer) error {
	n, err := sameLen(op, dst, x)
	if err != nil {
		return err
	}
	return d.launch1D(name, n, new(Args).Ptr(dst.ptr).Ptr(x.ptr).U32(uint32(n)))
}

// Add computes dst = x + y, as kernels.Add.
func (d *Device) Add(dst, x, y *Buffer) error { return d.binary("vlp_add", "Add", dst, x, y) }

// Mul computes dst = x * y elementwise, as kernels.Mul.
func (d *Device) Mul(dst, x, y *Buffer) error { return d.binary("vlp_mul", "Mul", dst, x, y) }

// Axpy computes y += alpha*x with one fused multiply-add, as kernels.Axpy.
func (d *Device) Axpy(alpha float32, x, y *Buffer) error {
	n, err := sameLen("Axpy", x, y)
	if err != nil {
		return err
	}
	return d.launch1D("vlp_axpy", n, new(Args).F32(alpha).Ptr(x.ptr).Ptr(y.ptr).U32(uint32(n)))
}

// Scale computes dst = alpha*x, as kernels.Scale.
func (d *Device) Scale(dst *Buffer, alpha float32, x *Buffer) error {
	n, err := sameLen("Scale", dst, x)
	if err != nil {
		return err
	}
	return d.launch1D("vlp_scale", n, new(Args).Ptr(dst.ptr).F32(alpha).Ptr(x.ptr).U32(uint32(n)))
}

// ReLU computes dst = max(x, 0), as kernels.ReLU.
func (d *Device) ReLU(dst, x *Buffer) error { return d.unary("vlp_relu", "ReLU", dst, x) }

// Exp computes dst = exp(x) with the polynomial of kernels.Exp.
func (d *Device) Exp(dst, x *Buffer) error { return d.unary("vlp_exp", "Exp", dst, x) }

// Sigmoid computes dst = 1/(1+exp(-x)), as kernels.Sigmoid.
func (d *Device) Sigmoid(dst, x *Buffer) error { return d.unary("vlp_sigmoid", "Sigmoid", dst, x) }

// Tanh computes dst = tanh(x) as 1 - 2/(exp(2|x|)+1) with the sign of x;
// kernels.Tanh rounds the float64 math.Tanh, which this is within 2e-7 of.
func (d *Device) Tanh(dst, x *Buffer) error { return d.unary("vlp_tanh", "Tanh", dst, x) }

// QuickGELU computes dst = x*sigmoid(1.702x), as kernels.QuickGELU.
func (d *Device) QuickGELU(dst, x *Buffer) error {
	return d.unary("vlp_quickgelu", "QuickGELU", dst, x)
}

// rowShape checks that x holds whole rows of cols elements and returns the
// number of rows.
func rowShape(op string, x *Buffer, cols int) (int, error) {
	if cols <= 0 || x.n%cols != 0 {
		return 0, fmt.Errorf("cuda: %s: %d elements are not rows of %d", op, x.n, cols)
	}
	return x.n / cols, nil
}

// SoftmaxRows computes dst = softmax(x) over each row of cols elements, as
// kernels.SoftmaxRows; the sum of each row is accumulated in float64.
func (d *Device) SoftmaxRows(dst, x *Buffer, cols int) error {
	if _, err := sameLen("SoftmaxRows", dst, x); err != nil {
		return err
	}
	rows, err := rowShape("SoftmaxRows", x, cols)
	if err != nil {
		return err
	}
	return d.Launch("vlp_softmax_rows", Dim3{uint32(rows), 1, 1}, Dim3{rowBlock, 1, 1}, 0,
		new(Args).Ptr(dst.ptr).Ptr(x.ptr).U32(uint32(rows)).U32(uint32(cols)))
}

// LayerNormRows normalises each row of cols elements of x as
// kernels.LayerNormRows does, storing each row's mean and 1/sqrt(var+eps)
// in mean and rstd. gamma and beta are required (cols elements each). The
// row sums are accumulated in float64.
func (d *Device) LayerNormRows(dst, mean, rstd, x, gamma, beta *Buffer, cols int, eps float32) error {
	if _, err := sameLen("LayerNormRows", dst, x); err != nil {
		return err
	}
	rows, err := rowShape("LayerNormRows", x, cols)
	if err != nil {
		return err
	}
	if _, err := sameLen("LayerNormRows", mean, rstd); err != nil || mean.n != rows {
		return fmt.Errorf("cuda: LayerNormRows: mean and rstd must hold %d rows", rows)
	}
	if _, err := sameLen("LayerNormRows", gamma, beta); err != nil || gamma.n != cols {
		return fmt.Errorf("cuda: LayerNormRows: gamma and beta must hold %d columns", cols)
	}
	return d.Launch("vlp_layernorm_rows", Dim3{uint32(rows), 1, 1}, Dim3{rowBlock, 1, 1}, 0,
		new(Args).Ptr(dst.ptr).Ptr(mean.ptr).Ptr(rstd.ptr).Ptr(x.ptr).Ptr(gamma.ptr).Ptr(beta.ptr).
			U32(uint32(rows)).U32(uint32(cols)).F32(eps))
}

// SGDMomentum applies one step of SGD with momentum to w, rounding every
// product and sum as kernels.SGDMomentum does.
func (d *Device) SGDMomentum(w, grad, buf *Buffer, lr, wd, mom, damp float32, nesterov bool) error {
	n, err := sameLen("SGDMomentum", w, grad, buf)
	if err != nil {
		return err
	}
	nest := uint32(0)
	if nesterov {
		nest = 1
	}
	return d.launch1D("vlp_sgd_momentum", n, new(Args).Ptr(w.ptr).Ptr(grad.ptr).Ptr(buf.ptr).U32(uint32(n)).
		F32(lr).F32(wd).F32(mom).F32(damp).U32(nest))
}
