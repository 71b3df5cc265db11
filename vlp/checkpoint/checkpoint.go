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

// Tensor is one named tensor. Data holds its values in row-major order,
// converted to float32; DType is the element type the file stored.
type Tensor struct {
	Name  string
	Shape []int
	DType dtype.DType
	Data  []float32
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

// StateDict is the content of a checkpoint: its tensors in file order.
type StateDict struct {
	Format  Format
	Tensors []Tensor
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

// Open reads the checkpoint at path, whatever its supported format.
func Open(path string) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	st, statErr := f.Stat()
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if statErr != nil {
		return nil, fmt.Errorf("checkpoint: %w", statErr)
	}
	c, err := sniff(head[:n], st.Size())
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if c == safetensorsFile {
		return openSafetensors(path)
	}
	return openTorch(path)
}

func openSafetensors(path string) (*StateDict, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s := &StateDict{Format: Safetensors, Tensors: make([]Tensor, len(f.Tensors))}
	for i, t := range f.Tensors {
		s.Tensors[i] = Tensor{Name: t.Name, Shape: t.Shape, DType: t.DType, Data: t.Float32()}
	}
	return s, nil
}

func openTorch(path string) (*StateDict, error) {
	f, err := torchpt.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s := &StateDict{Format: TorchStateDict, Tensors: make([]Tensor, len(f.Tensors))}
	if f.Format == torchpt.TorchScript {
		s.Format = TorchScript
	}
	for i, t := range f.Tensors {
		s.Tensors[i] = Tensor{Name: t.Name, Shape: t.Shape, DType: t.DType, Data: t.Data}
	}
	return s, nil
}
