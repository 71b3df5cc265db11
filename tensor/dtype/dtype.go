package dtype

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
	"unsafe"

	"github.com/vlpuda/vlpuda/kernels"
)

// DType is the element type of a stored tensor.
type DType uint8

// The element types. Their String values are the safetensors spellings.
const (
	Invalid DType = iota
	Float64
	Float32
	Float16
	BFloat16
	Int64
	Int32
	Int16
	Int8
	Uint64
	Uint32
	Uint16
	Uint8
	Bool
)

var info = [...]struct {
	name string
	size int
}{
	Invalid:  {"invalid", 0},
	Float64:  {"F64", 8},
	Float32:  {"F32", 4},
	Float16:  {"F16", 2},
	BFloat16: {"BF16", 2},
	Int64:    {"I64", 8},
	Int32:    {"I32", 4},
	Int16:    {"I16", 2},
	Int8:     {"I8", 1},
	Uint64:   {"U64", 8},
	Uint32:   {"U32", 4},
	Uint16:   {"U16", 2},
	Uint8:    {"U8", 1},
	Bool:     {"BOOL", 1},
}

// String returns the safetensors name of d, such as "F32" or "BF16".
func (d DType) String() string {
	if int(d) < len(info) {
		return info[d].name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element in bytes, or 0 for Invalid.
func (d DType) Size() int {
	if int(d) < len(info) {
		return info[d].size
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float64 || d == Float32 || d == Float16 || d == BFloat16
}

// Parse returns the DType whose safetensors name is s ("F32", "I64", ...).
func Parse(s string) (DType, error) {
	for d := Float64; int(d) < len(info); d++ {
		if info[d].name == s {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("dtype: unknown dtype %q", s)
}

// ToFloat32 decodes the little-endian elements of type d in src into dst.
// Floating-point values are rounded to nearest float32 (exact for F16, BF16
// and F32; F16 goes through kernels.HalfToFloat32, the CPU's conversion); integers convert as Go's float32(x) does, which is exact up to
// 2^24 in magnitude; Bool gives 0 or 1.
//
// ToFloat32 panics if d is Invalid or len(src) != len(dst)*d.Size().
func ToFloat32(dst []float32, src []byte, d DType) {
	if d == Invalid || int(d) >= len(info) {
		panic(fmt.Sprintf("dtype: ToFloat32: invalid dtype %v", d))
	}
	if len(src) != len(dst)*d.Size() {
		panic(fmt.Sprintf("dtype: ToFloat32: %d bytes of %v for %d elements", len(src), d, len(dst)))
	}
	le := binary.LittleEndian
	switch d {
	case Float64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case Float32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case Float16:
		kernels.HalfToFloat32(dst, src)
	case BFloat16:
		for i := range dst {
			dst[i] = BFloat16ToFloat32(le.Uint16(src[2*i:]))
		}
	case Int64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(src[8*i:])))
		}
	case Int32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:])))
		}
	case Int16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case Int8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case Uint64:
		for i := range dst {
			dst[i] = float32(le.Uint64(src[8*i:]))
		}
	case Uint32:
		for i := range dst {
			dst[i] = float32(le.Uint32(src[4*i:]))
		}
	case Uint16:
		for i := range dst {
			dst[i] = float32(le.Uint16(src[2*i:]))
		}
	case Uint8:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case Bool:
		for i := range dst {
			dst[i] = 0
			if src[i] != 0 {
				dst[i] = 1
			}
		}
	}
}

// littleEndian reports whether the CPU stores a float32 as the little-endian
// bytes that files hold.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// chunkBytes is how many bytes ReadFloat32 reads at a time: enough to
// amortise each read, small enough to stay in the cache.
const chunkBytes = 64 << 10

// chunks holds ReadFloat32's buffers for reuse: a checkpoint's hundreds of
// tensors would otherwise each take a fresh one, which costs page faults
// as well as allocation.
var chunks = sync.Pool{New: func() any { return new([chunkBytes]byte) }}

// ReadFloat32 reads len(dst) little-endian elements of type d from r and
// converts them into dst as ToFloat32 does, a chunk at a time, so that no
// copy of the whole data is ever held; float32 elements on a little-endian
// CPU are read straight into dst. An r that ends early gives
// io.ErrUnexpectedEOF.
func ReadFloat32(r io.Reader, dst []float32, d DType) error {
	size := d.Size()
	if size == 0 {
		return fmt.Errorf("dtype: ReadFloat32: invalid dtype %v", d)
	}
	if d == Float32 && littleEndian && len(dst) > 0 {
		_, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)))
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	chunk := chunks.Get().(*[chunkBytes]byte)
	defer chunks.Put(chunk)
	buf := chunk[:min(len(dst)*size, chunkBytes)]
	per := len(buf) / size
	for len(dst) > 0 {
		n := min(len(dst), per)
		if _, err := io.ReadFull(r, buf[:n*size]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		ToFloat32(dst[:n], buf[:n*size], d)
		dst = dst[n:]
	}
	return nil
}
