package rst

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/vlpuda/vlpuda/internal/atomicfile"

	"github.com/vlpuda/vlpuda/tensor/dtype"
)

// The fixed parts of the file; see the package documentation.
const (
	magic      = "VLPR"
	version    = 1
	headerSize = 4 + 2 + 2 + 8 + 32
	trailerLen = 4

	flagFloat16 = 1 << 0 // sparse values are scaled binary16 differences
	knownFlags  = flagFloat16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Marshal returns the residual in the file format of the package
// documentation. Sparse and dense tensors are written in name order, so
// equal residuals give equal bytes. It returns an error if the residual is
// inconsistent (repeated or empty names, indices out of range or not
// increasing, values that do not match the shapes) or, for Float16, if a
// difference is not finite.
func Marshal(r *Residual) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("rst: marshal: %w", err)
	}
	b := make([]byte, headerSize, headerSize+6*r.NonZero()+4*denseNumel(r)+1024)
	copy(b, magic)
	binary.LittleEndian.PutUint16(b[4:], version)
	if r.Encoding == Float16 {
		binary.LittleEndian.PutUint16(b[6:], flagFloat16)
	}
	copy(b[16:], r.Base[:])

	keys := make([]string, 0, len(r.Meta))
	for k := range r.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, r.Meta[k])
	}

	sparse := slices.Clone(r.Sparse)
	slices.SortFunc(sparse, func(a, b Sparse) int { return cmp.Compare(a.Name, b.Name) })
	b = binary.AppendUvarint(b, uint64(len(sparse)))
	for _, s := range sparse {
		b = appendString(b, s.Name)
		b = appendShape(b, s.Shape)
		b = binary.AppendUvarint(b, uint64(len(s.Index)))
		b = appendGaps(b, s.Index)
		if r.Encoding == Float32 {
			for _, v := range s.Values {
				if !finite(v) {
					return nil, fmt.Errorf("rst: marshal: tensor %q: difference %v is not finite", s.Name, v)
				}
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
			continue
		}
		e, err := halfScale(s.Values)
		if err != nil {
			return nil, fmt.Errorf("rst: marshal: tensor %q: %w", s.Name, err)
		}
		b = binary.AppendVarint(b, int64(e))
		for _, v := range s.Values {
			b = binary.LittleEndian.AppendUint16(b, dtype.Float32ToHalf(float32(math.Ldexp(float64(v), e))))
		}
	}

	dense := slices.Clone(r.Dense)
	slices.SortFunc(dense, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	b = binary.AppendUvarint(b, uint64(len(dense)))
	for _, t := range dense {
		b = appendString(b, t.Name)
		b = appendShape(b, t.Shape)
		for _, v := range t.Values {
			if !finite(v) {
				return nil, fmt.Errorf("rst: marshal: tensor %q: value %v is not finite", t.Name, v)
			}
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}

	binary.LittleEndian.PutUint64(b[8:], uint64(len(b)+trailerLen))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func denseNumel(r *Residual) int {
	n := 0
	for _, t := range r.Dense {
		n += len(t.Values)
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendShape(b []byte, shape []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(shape)))
	for _, d := range shape {
		b = binary.AppendUvarint(b, uint64(d))
	}
	return b
}

// appendGaps appends increasing indices as uvarint gaps: the first index,
// then each index minus its predecessor minus one.
func appendGaps(b []byte, index []int) []byte {
	prev := -1
	for _, i := range index {
		b = binary.AppendUvarint(b, uint64(i-prev-1))
		prev = i
	}
	return b
}

// gapBytes returns the number of bytes appendGaps writes for index.
func gapBytes(index []int) int {
	n, prev := 0, -1
	for _, i := range index {
		g := uint64(i - prev - 1)
		prev = i
		n++
		for g >= 0x80 {
			g >>= 7
			n++
		}
	}
	return n
}

// halfScale returns the exponent e that puts the largest |v| of values in
// [2¹⁴, 2¹⁵) once multiplied by 2^e, so that the binary16 values keep 11
// significant bits down to 2⁻²⁹ of the largest.
func halfScale(values []float32) (int, error) {
	var m float64
	for _, v := range values {
		a := math.Abs(float64(v))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return 0, fmt.Errorf("difference %v cannot be stored as float16", v)
		}
		m = max(m, a)
	}
	if m == 0 {
		return 0, nil
	}
	_, exp := math.Frexp(m) // m = f·2^exp, 0.5 ≤ f < 1
	return 15 - exp, nil
}

// Unmarshal decodes a residual written by Marshal. The errors wrap
// ErrFormat (not a residual, unsupported version, malformed content),
// ErrTruncated or ErrChecksum.
func Unmarshal(data []byte) (*Residual, error) {
	r, err := unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("rst: %w", err)
	}
	return r, nil
}

func unmarshal(data []byte) (*Residual, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrFormat)
	}
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic (the file does not start with %q)", ErrFormat, magic)
	}
	if len(data) < headerSize+trailerLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrTruncated, len(data), headerSize+trailerLen)
	}
	if v := binary.LittleEndian.Uint16(data[4:]); v != version {
		return nil, fmt.Errorf("%w: version %d (this build reads version %d)", ErrFormat, v, version)
	}
	flags := binary.LittleEndian.Uint16(data[6:])
	if flags&^knownFlags != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#04x", ErrFormat, flags)
	}
	switch size := binary.LittleEndian.Uint64(data[8:]); {
	case size > uint64(len(data)):
		return nil, fmt.Errorf("%w: %d bytes, the header says %d", ErrTruncated, len(data), size)
	case size < uint64(len(data)):
		return nil, fmt.Errorf("%w: %d bytes, the header says %d (data after the end)", ErrFormat, len(data), size)
	}
	body := data[:len(data)-trailerLen]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(data[len(body):]); got != want {
		return nil, fmt.Errorf("%w: CRC-32C %08x, the file says %08x (the file is corrupt)", ErrChecksum, got, want)
	}

	r := &Residual{Encoding: Float32}
	if flags&flagFloat16 != 0 {
		r.Encoding = Float16
	}
	copy(r.Base[:], data[16:])
	d := &decoder{b: body[headerSize:]}
	if n := d.count(2); n > 0 {
		r.Meta = make(map[string]string, n)
		prev := ""
		for k := 0; k < n && d.err == nil; k++ {
			key, val := d.string(), d.string()
			if d.err == nil && k > 0 && key <= prev {
				d.fail("metadata keys not in increasing order (%q after %q)", key, prev)
			}
			r.Meta[key], prev = val, key
		}
	}
	nSparse := d.count(3)
	for k := 0; k < nSparse && d.err == nil; k++ {
		r.Sparse = append(r.Sparse, d.sparse(r.Encoding))
	}
	nDense := d.count(3)
	for k := 0; k < nDense && d.err == nil; k++ {
		name, shape := d.string(), d.shape()
		n := d.numel(shape, 4)
		t := Tensor{Name: name, Shape: shape, Values: make([]float32, n)}
		for i := range t.Values {
			t.Values[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.take(4)))
			if !finite(t.Values[i]) && d.err == nil {
				d.fail("tensor %q: value %d is %v", name, i, t.Values[i])
			}
		}
		r.Dense = append(r.Dense, t)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes left after the last tensor", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	for k := 1; k < len(r.Sparse); k++ {
		if r.Sparse[k].Name <= r.Sparse[k-1].Name {
			return nil, fmt.Errorf("%w: sparse tensors not in name order (%q after %q)", ErrFormat, r.Sparse[k].Name, r.Sparse[k-1].Name)
		}
	}
	for k := 1; k < len(r.Dense); k++ {
		if r.Dense[k].Name <= r.Dense[k-1].Name {
			return nil, fmt.Errorf("%w: dense tensors not in name order (%q after %q)", ErrFormat, r.Dense[k].Name, r.Dense[k-1].Name)
		}
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return r, nil
}

// A decoder reads the body. After the first error every read returns zero
// values and d.err keeps that error, so the caller checks once per item.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.fail("content ends early")
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items that each take at least minBytes bytes, and
// checks that they can fit in what is left.
func (d *decoder) count(minBytes int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/minBytes) {
		d.fail("count %d does not fit in the %d bytes left", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	s := string(d.take(d.count(1)))
	if d.err == nil && !utf8.ValidString(s) {
		d.fail("name %q is not UTF-8", s)
	}
	return s
}

func (d *decoder) shape() []int {
	ndim := d.count(1)
	if ndim > 32 {
		d.fail("%d dimensions", ndim)
		return nil
	}
	shape := make([]int, ndim)
	for i := range shape {
		v := d.uvarint()
		if v > maxNumel {
			d.fail("dimension %d too large", v)
			return nil
		}
		shape[i] = int(v)
	}
	return shape
}

// numel returns the element count of shape, checking that as many items of
// size bytes each fit in what is left.
func (d *decoder) numel(shape []int, size int) int {
	n, err := numel(shape)
	if err == nil && n > len(d.b)/size {
		err = fmt.Errorf("%d elements of shape %s do not fit in the %d bytes left", n, shapeString(shape), len(d.b))
	}
	if err != nil {
		d.fail("%v", err)
		return 0
	}
	return n
}

func (d *decoder) sparse(enc Encoding) Sparse {
	s := Sparse{Name: d.string(), Shape: d.shape()}
	size, err := numel(s.Shape)
	if err != nil {
		d.fail("tensor %q: %v", s.Name, err)
		return s
	}
	valueSize := 4
	if enc == Float16 {
		valueSize = 2
	}
	nnz := d.count(1 + valueSize)
	if nnz > size {
		d.fail("tensor %q: %d non-zeros in shape %s", s.Name, nnz, shapeString(s.Shape))
		return s
	}
	s.Index = make([]int, nnz)
	prev := -1
	for k := range s.Index {
		g := d.uvarint()
		if g >= uint64(size) || uint64(prev+1)+g >= uint64(size) {
			if d.err == nil {
				d.fail("tensor %q: index %d out of range for shape %s", s.Name, uint64(prev+1)+g, shapeString(s.Shape))
			}
			return s
		}
		prev += int(g) + 1
		s.Index[k] = prev
	}
	s.Values = make([]float32, nnz)
	defer func() {
		// A residual holds differences of finite weights (and its dense
		// tensors finite weights); NaN or ±Inf, stored or a float16 value
		// the scale overflows, is damage.
		for k, v := range s.Values {
			if !finite(v) && d.err == nil {
				d.fail("tensor %q: value %d is %v", s.Name, k, v)
			}
		}
	}()
	if enc == Float32 {
		for k := range s.Values {
			s.Values[k] = math.Float32frombits(binary.LittleEndian.Uint32(d.take(4)))
		}
		return s
	}
	e, n := binary.Varint(d.b)
	if n <= 0 || e < -1100 || e > 1100 {
		d.fail("tensor %q: bad float16 scale", s.Name)
		return s
	}
	d.b = d.b[n:]
	var largest float64
	for k := range s.Values {
		h := float64(dtype.HalfToFloat32(binary.LittleEndian.Uint16(d.take(2))))
		v := float32(math.Ldexp(h, -int(e)))
		if d.err == nil && finite(v) && math.Ldexp(float64(v), int(e)) != h {
			d.fail("tensor %q: float16 value %d times 2^-%d is not a float32", s.Name, k, e)
			return s
		}
		s.Values[k] = v
		largest = max(largest, math.Abs(h))
	}
	// Marshal picks the one scale that puts the largest |value| in
	// [2¹⁴, 2¹⁵) (0 when every value is zero); any other scale would
	// not survive writing the residual again.
	if d.err == nil && !math.IsNaN(largest) && !math.IsInf(largest, 0) {
		if canonical := largest == 0 && e == 0 || largest >= 1<<14 && largest < 1<<15; !canonical {
			d.fail("tensor %q: float16 scale 2^%d is not the one the format prescribes", s.Name, e)
		}
	}
	return s
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// WriteFile writes r to path atomically: the file appears complete or not
// at all (internal/atomicfile). If path exists, WriteFile fails with an
// error wrapping fs.ErrExist unless overwrite is set.
func WriteFile(path string, r *Residual, overwrite bool) error {
	b, err := Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, overwrite); err != nil {
		return fmt.Errorf("rst: %w", err)
	}
	return nil
}

// ReadFile reads a residual file written by WriteFile. The error names path
// and wraps ErrFormat, ErrTruncated or ErrChecksum for bad content.
func ReadFile(path string) (*Residual, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rst: %w", err)
	}
	r, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("rst: read %s: %w", path, err)
	}
	return r, nil
}
