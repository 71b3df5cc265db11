package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor/dtype"
)

// MaxHeaderSize is the largest JSON header Parse accepts (100 MiB, the
// limit of the reference implementation).
const MaxHeaderSize = 100 << 20

// metadataKey is the header key that holds the free-form metadata.
const metadataKey = "__metadata__"

// Tensor is one named tensor with its data as stored: little-endian,
// row-major, len(Data) == NumElements()*DType.Size().
type Tensor struct {
	Name  string
	DType dtype.DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of t's shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 returns t's values converted to float32 (see dtype.ToFloat32).
func (t *Tensor) Float32() []float32 {
	out := make([]float32, t.NumElements())
	dtype.ToFloat32(out, t.Data, t.DType)
	return out
}

// FromFloat32 returns an F32 tensor holding a copy of data. It panics if
// len(data) does not match shape.
func FromFloat32(name string, shape []int, data []float32) Tensor {
	t := Tensor{Name: name, DType: dtype.Float32, Shape: slices.Clone(shape)}
	if n := t.NumElements(); n != len(data) {
		panic(fmt.Sprintf("safetensors: FromFloat32: %d values for shape %s", len(data), shapefmt.String(shape)))
	}
	t.Data = make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	}
	return t
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the header's "__metadata__" map, or nil if it had none.
	Metadata map[string]string
	// Tensors are in the order of their data in the file.
	Tensors []Tensor
}

// Tensor returns the tensor called name, or nil if there is none.
func (f *File) Tensor(name string) *Tensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// ReadFile reads and parses the safetensors file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return f, nil
}

// headerEntry is one tensor's header record; pointers tell missing fields.
type headerEntry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]int64  `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

// Parse parses a whole safetensors file held in data. The returned tensors'
// Data slices alias data.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: truncated file: %d bytes, need at least 8 for the header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if err := checkHeaderLength(n, int64(len(data))); err != nil {
		return nil, err
	}
	h, err := parseHeader(data[8:8+n], uint64(len(data))-8-n)
	if err != nil {
		return nil, err
	}
	f := &File{Metadata: h.Metadata, Tensors: make([]Tensor, len(h.Entries))}
	for i, e := range h.Entries {
		end := e.Offset + e.Size
		f.Tensors[i] = Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape, Data: data[e.Offset:end:end]}
	}
	return f, nil
}

// checkHeaderLength checks the header length n that a file of size bytes
// declares.
func checkHeaderLength(n uint64, size int64) error {
	if n > MaxHeaderSize {
		return fmt.Errorf("safetensors: header length %d is larger than the limit of %d", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return fmt.Errorf("safetensors: header length %d exceeds the %d bytes after it (truncated file?)", n, size-8)
	}
	return nil
}

// Header is what a safetensors file's header says: its metadata and where
// each tensor's data lies.
type Header struct {
	// Metadata is the header's "__metadata__" map, or nil if it had none.
	Metadata map[string]string
	// Entries are in the order of their data in the file.
	Entries []Entry
}

// Entry is one tensor as the header describes it.
type Entry struct {
	Name  string
	DType dtype.DType
	Shape []int
	// Offset is where the data begins in the file, Size its length in
	// bytes.
	Offset, Size int64
}

// ReadHeader reads and checks the header of the safetensors file of size
// bytes in r, and no tensor data: every entry's data lies inside the file,
// with the size its dtype and shape need, and no two overlap.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: truncated file: %d bytes, need at least 8 for the header length", size)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if err := checkHeaderLength(n, size); err != nil {
		return nil, err
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: read header: %w", err)
	}
	return parseHeader(header, uint64(size)-8-uint64(n))
}

// parseHeader parses the JSON header of a file whose data (after the
// header) holds dataLen bytes.
func parseHeader(header []byte, dataLen uint64) (*Header, error) {
	keys, values, err := splitObject(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	h := &Header{}
	seen := make(map[string]bool, len(keys))
	for i, name := range keys {
		if seen[name] {
			return nil, fmt.Errorf("safetensors: header: duplicate key %q", name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := json.Unmarshal(values[i], &h.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: header: %s must map strings to strings: %w", metadataKey, err)
			}
			continue
		}
		e, err := parseEntry(name, values[i], dataLen)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		e.Offset += int64(8 + len(header))
		h.Entries = append(h.Entries, e)
	}

	// Order by position in the data and reject overlapping ranges.
	slices.SortStableFunc(h.Entries, func(a, b Entry) int { return cmp.Compare(a.Offset, b.Offset) })
	var end int64
	endName := ""
	for _, e := range h.Entries {
		if e.Size == 0 {
			continue
		}
		if e.Offset < end {
			base := int64(8 + len(header))
			return nil, fmt.Errorf("safetensors: tensor %q: data [%d, %d) overlaps tensor %q ending at %d",
				e.Name, e.Offset-base, e.Offset-base+e.Size, endName, end-base)
		}
		end, endName = e.Offset+e.Size, e.Name
	}
	return h, nil
}

// splitObject returns the keys and raw values of the JSON object in b, in
// order, and fails on anything but one object followed by whitespace.
func splitObject(b []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("want a JSON object, found %v", tok)
	}
	var keys []string
	var values []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string) // object keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("value of %q: %w", key, err)
		}
		keys = append(keys, key)
		values = append(values, v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("data after the JSON object")
	}
	return keys, values, nil
}

// parseEntry checks one tensor record against the dataLen bytes of data.
// The entry's Offset is relative to the start of the data.
func parseEntry(name string, raw json.RawMessage, dataLen uint64) (Entry, error) {
	var e headerEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Entry{}, err
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return Entry{}, errors.New(`entry needs "dtype", "shape" and "data_offsets"`)
	}
	dt, err := dtype.Parse(*e.DType)
	if err != nil {
		return Entry{}, err
	}
	t := Entry{Name: name, DType: dt, Shape: make([]int, len(*e.Shape))}
	size := uint64(dt.Size())
	for i, d := range *e.Shape {
		if d < 0 {
			return Entry{}, fmt.Errorf("negative dimension in shape %s", shapefmt.String(*e.Shape))
		}
		t.Shape[i] = int(d)
		if d != 0 && size > math.MaxInt64/uint64(d) {
			return Entry{}, fmt.Errorf("shape %s is too large", shapefmt.String(*e.Shape))
		}
		size *= uint64(d)
	}
	off := *e.DataOffsets
	if len(off) != 2 {
		return Entry{}, fmt.Errorf("data_offsets %s: want [begin, end]", shapefmt.String(off))
	}
	begin, end := off[0], off[1]
	if begin > end || end > dataLen {
		return Entry{}, fmt.Errorf("data_offsets [%d, %d] out of range: the data holds %d bytes", begin, end, dataLen)
	}
	if end-begin != size {
		return Entry{}, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but %s%s needs %d", begin, end, end-begin, dt, shapefmt.String(t.Shape), size)
	}
	t.Offset, t.Size = int64(begin), int64(size)
	return t, nil
}
