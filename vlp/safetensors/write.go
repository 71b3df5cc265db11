package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor/dtype"
)

// Write writes tensors and metadata to w in the safetensors format. The
// data is laid out by element size, largest first, then by name; the header
// is compact JSON with "__metadata__" first (omitted when metadata is
// empty), then the tensors in data order, padded with spaces to a multiple
// of 8 bytes. Equal inputs therefore always give equal bytes.
//
// Write returns an error, before writing anything, if a name is empty,
// repeated or "__metadata__", a dtype is invalid, or a tensor's Data does
// not match its shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order, err := layout(tensors)
	if err != nil {
		return err
	}
	header, err := encodeHeader(order, metadata)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
	}
	return nil
}

// layout checks tensors and returns them in file order.
func layout(tensors []Tensor) ([]*Tensor, error) {
	seen := make(map[string]bool, len(tensors))
	order := make([]*Tensor, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("safetensors: tensor %d has no name", i)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("safetensors: tensor name %q is reserved", t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		case t.DType == dtype.Invalid || t.DType.Size() == 0:
			return nil, fmt.Errorf("safetensors: tensor %q: invalid dtype %v", t.Name, t.DType)
		}
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %s", t.Name, shapefmt.String(t.Shape))
			}
		}
		if want := t.NumElements() * t.DType.Size(); len(t.Data) != want {
			return nil, fmt.Errorf("safetensors: tensor %q: %d bytes of data, %v%s needs %d", t.Name, len(t.Data), t.DType, shapefmt.String(t.Shape), want)
		}
		seen[t.Name] = true
		order[i] = t
	}
	slices.SortFunc(order, func(a, b *Tensor) int {
		if c := cmp.Compare(b.DType.Size(), a.DType.Size()); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return order, nil
}

// encodeHeader returns the padded JSON header for tensors in file order.
func encodeHeader(order []*Tensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		writeString(&b, metadataKey)
		b.WriteString(":{")
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, k)
			b.WriteByte(':')
			writeString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	offset := 0
	for i, t := range order {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		writeString(&b, t.Name)
		b.WriteString(`:{"dtype":"`)
		b.WriteString(t.DType.String())
		b.WriteString(`","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString(`],"data_offsets":[`)
		b.WriteString(strconv.Itoa(offset))
		b.WriteByte(',')
		offset += len(t.Data)
		b.WriteString(strconv.Itoa(offset))
		b.WriteString("]}")
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), nil
}

// writeString appends s as a JSON string, leaving <, > and & unescaped.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes; Encode appends a newline
	b.Truncate(b.Len() - 1)
}

// WriteFile writes tensors and metadata to a new file at path (see Write).
// It fails with an error wrapping fs.ErrExist if path already exists: the
// caller decides about replacing, with ReplaceFile. The file appears
// complete or not at all: it is written to a temporary file in the same
// folder, synced, then linked into place.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return writeAtomic(path, false, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// ReplaceFile is WriteFile that atomically replaces an existing file.
func ReplaceFile(path string, tensors []Tensor, metadata map[string]string) error {
	return writeAtomic(path, true, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// writeAtomic writes path with write through internal/atomicfile,
// replacing an existing file only if replace is set.
func writeAtomic(path string, replace bool, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, replace, write); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
