package rst

import (
	"fmt"
	"os"
)

// Summary describes a residual file, for `vlpuda residual inspect`.
type Summary struct {
	Path     string `json:"path"`
	Bytes    int    `json:"bytes"` // size of the file
	Version  int    `json:"version"`
	Encoding string `json:"encoding"` // "float32" or "float16"
	// BitExact reports that applying the residual reproduces the trained
	// weights bit for bit (Float32 encoding).
	BitExact bool   `json:"bit_exact"`
	Base     string `json:"base_fingerprint"` // SHA-256, hexadecimal

	NonZero int     `json:"nonzero"` // stored sparse elements
	Numel   int     `json:"numel"`   // elements of the base tensors listed
	Density float64 `json:"density"` // NonZero / Numel
	// IndexBytes and ValueBytes are the bytes of the gap-coded indices and
	// of the values of all sparse tensors; BytesPerNonZero is their sum per
	// non-zero (0 when there are none).
	IndexBytes      int     `json:"index_bytes"`
	ValueBytes      int     `json:"value_bytes"`
	BytesPerNonZero float64 `json:"bytes_per_nonzero"`
	DenseNumel      int     `json:"dense_numel"` // elements of the dense tensors, 4 bytes each

	Sparse []SparseSummary   `json:"sparse"`
	Dense  []DenseSummary    `json:"dense"`
	Meta   map[string]string `json:"metadata,omitempty"`
}

// SparseSummary describes one sparse tensor of a residual.
type SparseSummary struct {
	Name       string  `json:"name"`
	Shape      []int   `json:"shape"`
	NonZero    int     `json:"nonzero"`
	Numel      int     `json:"numel"`
	Density    float64 `json:"density"`
	IndexBytes int     `json:"index_bytes"`
}

// DenseSummary describes one dense tensor of a residual.
type DenseSummary struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Numel int    `json:"numel"`
}

// Inspect reads the residual file at path and summarises it.
func Inspect(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rst: %w", err)
	}
	r, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("rst: read %s: %w", path, err)
	}
	s := &Summary{
		Path: path, Bytes: len(b), Version: version,
		Encoding: r.Encoding.String(), BitExact: r.Encoding == Float32,
		Base: r.Base.String(), Meta: r.Meta,
		Sparse: []SparseSummary{}, Dense: []DenseSummary{},
	}
	valueSize := 4
	if r.Encoding == Float16 {
		valueSize = 2
	}
	for _, sp := range r.Sparse {
		n, _ := numel(sp.Shape) // validated by unmarshal
		ss := SparseSummary{Name: sp.Name, Shape: sp.Shape, NonZero: len(sp.Index), Numel: n, IndexBytes: gapBytes(sp.Index)}
		if n > 0 {
			ss.Density = float64(ss.NonZero) / float64(n)
		}
		s.Sparse = append(s.Sparse, ss)
		s.NonZero += ss.NonZero
		s.Numel += n
		s.IndexBytes += ss.IndexBytes
		s.ValueBytes += valueSize * ss.NonZero
	}
	if s.Numel > 0 {
		s.Density = float64(s.NonZero) / float64(s.Numel)
	}
	if s.NonZero > 0 {
		s.BytesPerNonZero = float64(s.IndexBytes+s.ValueBytes) / float64(s.NonZero)
	}
	for _, t := range r.Dense {
		s.Dense = append(s.Dense, DenseSummary{Name: t.Name, Shape: t.Shape, Numel: len(t.Values)})
		s.DenseNumel += len(t.Values)
	}
	return s, nil
}
