package cuda

import (
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// ParamKind is the type of one parameter of a PTX kernel.
type ParamKind uint8

// The parameter kinds of the package's kernels, named as in PTX.
const (
	ParamU64 ParamKind = iota + 1 // .u64: a DevicePtr
	ParamF32                      // .f32
	ParamU32                      // .u32
)

// String returns the PTX type of k.
func (k ParamKind) String() string {
	switch k {
	case ParamU64:
		return ".u64"
	case ParamF32:
		return ".f32"
	case ParamU32:
		return ".u32"
	}
	return fmt.Sprintf("ParamKind(%d)", uint8(k))
}

// Args packs the arguments of one kernel launch the way cuLaunchKernel
// reads them: kernelParams is an array of pointers, one per parameter, each
// pointing to the parameter's value. Every value gets its own 8-byte slot,
// aligned for any of the kinds, with a 4-byte value in the low bytes (the
// platforms this package builds for are little-endian).
type Args struct {
	slots []uint64
	kinds []ParamKind
}

// Ptr appends a device pointer.
func (a *Args) Ptr(p DevicePtr) *Args { return a.add(ParamU64, uint64(p)) }

// F32 appends a float32.
func (a *Args) F32(v float32) *Args { return a.add(ParamF32, uint64(math.Float32bits(v))) }

// U32 appends a uint32.
func (a *Args) U32(v uint32) *Args { return a.add(ParamU32, uint64(v)) }

func (a *Args) add(k ParamKind, v uint64) *Args {
	a.slots = append(a.slots, v)
	a.kinds = append(a.kinds, k)
	return a
}

// Kinds returns the kinds of the arguments in order.
func (a *Args) Kinds() []ParamKind { return a.kinds }

// check returns an error unless the arguments have the kinds of params.
func (a *Args) check(kernel string, params []ParamKind) error {
	if len(a.kinds) == len(params) {
		same := true
		for i := range params {
			same = same && a.kinds[i] == params[i]
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("cuda: kernel %s takes (%s), given (%s)", kernel, kindList(params), kindList(a.kinds))
}

func kindList(ks []ParamKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// pointers returns the kernelParams array: a pointer to each slot. The
// caller must pin a.slots (runtime.Pinner) while the driver reads them.
func (a *Args) pointers() []unsafe.Pointer {
	p := make([]unsafe.Pointer, len(a.slots))
	for i := range a.slots {
		p[i] = unsafe.Pointer(&a.slots[i])
	}
	return p
}
