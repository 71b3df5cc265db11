package rst

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
)

// Fingerprint identifies the base weights a residual was made for: a
// SHA-256 over the names, shapes and float32 bits of the base tensors (see
// the package documentation for the exact bytes).
type Fingerprint [32]byte

// String returns the fingerprint in hexadecimal.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// fingerprintDomain starts every fingerprint, so that it cannot equal the
// SHA-256 of anything else.
const fingerprintDomain = "vlpuda rst base v1\n"

// FingerprintOf returns the fingerprint of the given tensors, which must be
// contiguous. The order of params does not matter.
func FingerprintOf(params []nn.Named) Fingerprint {
	names := make([]string, len(params))
	shapes := make([][]int, len(params))
	data := make([][]float32, len(params))
	for i, p := range params {
		names[i], shapes[i], data[i] = p.Name, p.Tensor.Shape(), p.Tensor.Data()
	}
	return fingerprint(names, shapes, data)
}

// Fingerprint returns the fingerprint of the Projector's w0, computed the
// first time it is asked for.
func (p *Projector) Fingerprint() Fingerprint {
	if p.fp == nil {
		names := make([]string, len(p.params))
		shapes := make([][]int, len(p.params))
		for i, prm := range p.params {
			names[i], shapes[i] = prm.Name, prm.Tensor.Shape()
		}
		fp := fingerprint(names, shapes, p.base)
		p.fp = &fp
	}
	return *p.fp
}

// fingerprint hashes each tensor's values on its own, in parallel, then
// hashes the names, shapes and those digests in name order.
func fingerprint(names []string, shapes [][]int, data [][]float32) Fingerprint {
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(names[a], names[b]) })
	for k := 1; k < len(order); k++ {
		if names[order[k]] == names[order[k-1]] {
			panic(fmt.Sprintf("rst: fingerprint: tensor %q listed twice", names[order[k]]))
		}
	}
	digests := make([][32]byte, len(names))
	kernels.ParallelFor(len(names), 1, func(lo, hi int) {
		buf := make([]byte, 0, 1<<16)
		for i := lo; i < hi; i++ {
			h := sha256.New()
			for d := data[i]; len(d) > 0; {
				n := min(len(d), cap(buf)/4)
				buf = buf[:0]
				for _, v := range d[:n] {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
				h.Write(buf)
				d = d[n:]
			}
			h.Sum(digests[i][:0])
		}
	})
	h := sha256.New()
	var b []byte
	b = append(b, fingerprintDomain...)
	for _, i := range order {
		b = appendString(b, names[i])
		b = appendShape(b, shapes[i])
		b = append(b, digests[i][:]...)
	}
	h.Write(b)
	var f Fingerprint
	h.Sum(f[:0])
	return f
}
