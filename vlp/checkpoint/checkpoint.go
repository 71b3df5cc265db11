package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
	"github.com/vlpuda/vlpuda/vlp/torchpt"
)

// Tensor is one named tensor: its shape and the element type the file
// stored. Its values are read when asked for, by ReadInto or Values, in
// row-major order and converted to float32.
type Tensor struct {
	Name  string
	Shape []int
	DType dtype.DType

	read func(dst []float32) error // fills dst, of Len values
}

// NewTensor returns a tensor whose values are data, held in memory: data
// must hold the product of shape values.
func NewTensor(name string, shape []int, dt dtype.DType, data []float32) Tensor {
	return Tensor{Name: name, Shape: shape, DType: dt, read: func(dst []float32) error {
		copy(dst, data)
		return nil
	}}
}

// Len returns the number of values of t, the product of its shape.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ReadInto reads t's values into dst, which must hold exactly Len of them:
// straight from the file, with no copy of the whole tensor on the way.
func (t *Tensor) ReadInto(dst []float32) error {
	if len(dst) != t.Len() {
		return fmt.Errorf("checkpoint: %s: %d values to fill, want %d", t.Name, len(dst), t.Len())
	}
	return t.read(dst)
}

// Values returns t's values in a new slice.
func (t *Tensor) Values() ([]float32, error) {
	dst := make([]float32, t.Len())
	if err := t.ReadInto(dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// Format is a checkpoint file format.
type Format int

// The formats Open understands.
const (
	Safetensors    Format = iota + 1
	TorchStateDict        // torch.save zip of a dict of tensors
	TorchScript           // TorchScript zip archive
)

// String names the format.
func (f Format) String() string {
	switch f {
	case Safetensors:
		return "safetensors"
	case TorchStateDict:
		return "PyTorch state dict"
	case TorchScript:
		return "TorchScript archive"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// StateDict is the content of a checkpoint: its tensors in file order,
// whose values stay in the file until they are read. Close it when done.
type StateDict struct {
	Format  Format
	Tensors []Tensor
	// Metadata is a safetensors file's "__metadata__" map, or nil.
	Metadata map[string]string

	closer io.Closer
}

// Close closes the checkpoint's file; its tensors can no longer be read.
func (s *StateDict) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// Get returns the tensor called name, or nil.
func (s *StateDict) Get(name string) *Tensor {
	for i := range s.Tensors {
		if s.Tensors[i].Name == name {
			return &s.Tensors[i]
		}
	}
	return nil
}

// Names returns the tensor names in order.
func (s *StateDict) Names() []string {
	out := make([]string, len(s.Tensors))
	for i, t := range s.Tensors {
		out[i] = t.Name
	}
	return out
}

// TrimPrefix removes prefix from every name that starts with it, such as
// the "module." that DataParallel adds, and returns how many names changed.
// It fails, changing nothing, if two names would become equal.
func (s *StateDict) TrimPrefix(prefix string) (int, error) {
	seen := make(map[string]bool, len(s.Tensors))
	n := 0
	for _, t := range s.Tensors {
		name, ok := strings.CutPrefix(t.Name, prefix)
		if ok {
			n++
		}
		if seen[name] {
			return 0, fmt.Errorf("checkpoint: trimming %q makes two tensors %q", prefix, name)
		}
		seen[name] = true
	}
	for i := range s.Tensors {
		s.Tensors[i].Name = strings.TrimPrefix(s.Tensors[i].Name, prefix)
	}
	return n, nil
}

// container is what a file's first bytes show it to be.
type container int

const (
	safetensorsFile container = iota + 1
	zipFile                   // a PyTorch zip: state dict or TorchScript
)

// sniff tells the container of a file from its first bytes (16 suffice)
// and its size, or says what the bytes look like when it is unsupported.
func sniff(head []byte, size int64) (container, error) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return zipFile, nil
	case len(head) >= 9 && head[8] == '{':
		if n := binary.LittleEndian.Uint64(head); n >= 2 && n <= uint64(size-8) {
			return safetensorsFile, nil
		}
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		return 0, errors.New("a bare pickle stream: the torch.save format of PyTorch before 1.6, " +
			"which is not supported; re-save it with a newer PyTorch or as safetensors")
	}
	return 0, errors.New("unknown format: neither safetensors nor a PyTorch zip archive")
}

// Open opens the checkpoint at path, whatever its supported format, and
// reads what it says about its tensors (names, shapes, element types) but
// not their values. The caller must Close it.
func Open(path string) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s, err := index(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	s.closer = f
	return s, nil
}

// index reads the index of the checkpoint in f.
func index(f *os.File, path string) (*StateDict, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, 16)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	c, err := sniff(head[:n], st.Size())
	if err != nil {
		return nil, err
	}
	if c == safetensorsFile {
		return openSafetensors(f, st.Size(), path)
	}
	return openTorch(f, st.Size(), path)
}

func openSafetensors(f *os.File, size int64, path string) (*StateDict, error) {
	h, err := safetensors.ReadHeader(f, size)
	if err != nil {
		return nil, err
	}
	s := &StateDict{Format: Safetensors, Tensors: make([]Tensor, len(h.Entries)), Metadata: h.Metadata}
	for i, e := range h.Entries {
		s.Tensors[i] = Tensor{Name: e.Name, Shape: e.Shape, DType: e.DType, read: func(dst []float32) error {
			if err := dtype.ReadFloat32(io.NewSectionReader(f, e.Offset, e.Size), dst, e.DType); err != nil {
				return fmt.Errorf("checkpoint: %s: tensor %q: %w", path, e.Name, err)
			}
			return nil
		}}
	}
	return s, nil
}

func openTorch(f *os.File, size int64, path string) (*StateDict, error) {
	a, err := torchpt.Open(f, size)
	if err != nil {
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	s := &StateDict{Format: TorchStateDict, Tensors: make([]Tensor, len(a.Tensors))}
	if a.Format == torchpt.TorchScript {
		s.Format = TorchScript
	}
	for i, t := range a.Tensors {
		s.Tensors[i] = Tensor{Name: t.Name, Shape: t.Shape, DType: t.DType, read: func(dst []float32) error {
			if err := a.ReadFloat32(i, dst); err != nil {
				return fmt.Errorf("checkpoint: %s: %w", path, err)
			}
			return nil
		}}
	}
	return s, nil
}
