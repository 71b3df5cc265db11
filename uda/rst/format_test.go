package rst

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
)

// task is a base model, a Projector over it and the trained weights of
// one task.
type task struct {
	base    [][]float32 // w0
	params  []nn.Named  // the trained weights after Project
	trained [][]float32
	p       *Projector
	head    []nn.Named
}

// taskShapes mixes a matrix, a vector, a 4-D kernel, a scalar-like (1,1,8)
// embedding and an empty tensor.
var taskShapes = [][]int{{40, 25}, {40}, {6, 3, 4, 4}, {1, 1, 8}, {0, 5}}

// newTask trains a random base of taskShapes: every element moves by
// N(0, 1e-3²), a few cross zero or jump, and RST with τ = 1e-3 keeps about
// a third. It checks that some kept elements are ones where
// w0 + (w − w0) ≠ w in float32, so that storing differences could not pass
// the bit-exact tests.
func newTask(t testing.TB, seed uint64) *task {
	rng := tensor.NewRNG(seed)
	params := randomParams(tensor.NewRNG(1), taskShapes...) // same base for every seed
	tk := &task{base: snapshot(params), params: params, p: New(params, 1e-3)}
	for _, prm := range params {
		w := prm.Tensor.Data()
		for j := range w {
			switch rng.IntN(50) {
			case 0:
				w[j] = float32(rng.NormFloat64()) * 1e-7 // near zero: w − w0 loses w's low bits
			case 1:
				w[j] = -w[j]
			default:
				w[j] += float32(rng.NormFloat64() * 1e-3)
			}
		}
	}
	tk.p.Project()
	tk.trained = snapshot(params)
	inexact := 0
	for i := range tk.base {
		for j, w := range tk.trained[i] {
			if w0 := tk.base[i][j]; w0+(w-w0) != w {
				inexact++
			}
		}
	}
	if inexact == 0 {
		t.Fatalf("no element with w0 + (w − w0) ≠ w; the data does not test exactness")
	}
	hrng := tensor.NewRNG(seed + 100)
	tk.head = []nn.Named{
		{Name: "head.fc.weight", Tensor: tensor.RandN(hrng, 5, 8)},
		{Name: "head.bn.running_mean", Tensor: tensor.RandN(hrng, 8)},
	}
	return tk
}

// freshBase returns new tensors holding the base weights, as a process
// that loads the base checkpoint has.
func (tk *task) freshBase() []nn.Named {
	out := make([]nn.Named, len(tk.params))
	for i, p := range tk.params {
		out[i] = nn.Named{Name: p.Name, Tensor: tensor.New(slices.Clone(tk.base[i]), p.Tensor.Shape()...)}
	}
	return out
}

// sameBits reports the first element where the tensors' bits differ from want.
func sameBits(t *testing.T, what string, got []nn.Named, want [][]float32) {
	t.Helper()
	for i, p := range got {
		for j, v := range p.Tensor.Data() {
			if bits(v) != bits(want[i][j]) {
				t.Fatalf("%s: %s[%d] = %g (%#08x), want %g (%#08x)", what, p.Name, j, v, bits(v), want[i][j], bits(want[i][j]))
			}
		}
	}
}

// TestRoundTrip writes a task's residual, reads it back and applies it to
// a freshly loaded base: Float32 must reproduce the trained weights bit
// for bit, Float16 within its error bound; the dense head and the metadata
// come back unchanged.
func TestRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{Float32, Float16} {
		t.Run(enc.String(), func(t *testing.T) {
			tk := newTask(t, 5)
			meta := map[string]string{"dataset": "office31", "task": "A→W", "tau": "1e-3"}
			r := tk.p.Residual(enc, DenseTensors(tk.head), meta)
			if got, want := r.NonZero(), tk.p.Density().NonZero; got != want || got == 0 {
				t.Fatalf("residual holds %d non-zeros, Density %d", got, want)
			}
			path := filepath.Join(t.TempDir(), "task.vlpr")
			if err := WriteFile(path, r, false); err != nil {
				t.Fatal(err)
			}
			back, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if enc == Float32 && !reflect.DeepEqual(back, r) {
				t.Errorf("read back %+v\nwant %+v", back, r)
			}
			if !reflect.DeepEqual(back.Meta, meta) || !reflect.DeepEqual(back.Dense, r.Dense) || back.Base != r.Base {
				t.Errorf("metadata, dense tensors or fingerprint changed: %v, %v, %s", back.Meta, back.Dense, back.Base)
			}
			sd := back.DenseStateDict()
			if w := sd["head.fc.weight"]; w == nil || !slices.Equal(w.Shape(), []int{5, 8}) || !slices.Equal(w.Data(), tk.head[0].Tensor.Data()) {
				t.Errorf("DenseStateDict head.fc.weight = %v, want %v", w, tk.head[0].Tensor)
			}

			params := tk.freshBase()
			b := NewBase(params)
			if err := b.Apply(back); err != nil {
				t.Fatal(err)
			}
			if enc == Float32 {
				sameBits(t, "applied", params, tk.trained)
			} else {
				checkFloat16(t, params, tk.base, tk.trained)
			}
			b.Revert()
			sameBits(t, "reverted", params, tk.base)
		})
	}
}

// checkFloat16 checks |got − w| ≤ 2⁻¹⁰·|w − w0| + 2⁻²³·|w| for every
// element: the binary16 rounding of the scaled difference (2⁻¹¹ relative
// while it is normal, which the per-tensor scale ensures down to 2⁻²⁹ of
// the largest difference), plus the float32 roundings of w − w0 and of the
// sum.
func checkFloat16(t *testing.T, got []nn.Named, base, trained [][]float32) {
	t.Helper()
	var worst float64
	for i, p := range got {
		for j, v := range p.Tensor.Data() {
			w, w0 := float64(trained[i][j]), float64(base[i][j])
			bound := math.Abs(w-w0)*0x1p-10 + math.Abs(w)*0x1p-23
			e := math.Abs(float64(v) - w)
			if e > bound {
				t.Fatalf("%s[%d] = %g, want %g within %g (w0 %g)", p.Name, j, v, w, bound, w0)
			}
			if w != w0 {
				worst = max(worst, e/math.Abs(w-w0))
			}
		}
	}
	t.Logf("float16: largest error %.3g of |w − w0|", worst)
}

// TestBytesPerNonZero measures the sparse payload (gap-coded indices and
// values) per non-zero on a 1 M-element tensor at the densities RST
// produces, with random positions; the target is ≤ 6 bytes for Float32.
func TestBytesPerNonZero(t *testing.T) {
	const n = 1 << 20
	for _, density := range []float64{0.001, 0.005, 0.02} {
		rng := tensor.NewRNG(uint64(density * 1e6))
		w := tensor.RandN(rng, n)
		p := New([]nn.Named{{Name: "w", Tensor: w}}, 0)
		for j := range w.Data() {
			if rng.Float64() < density {
				w.Data()[j] += 0.01
			}
		}
		for _, enc := range []Encoding{Float32, Float16} {
			r := p.Residual(enc, nil, nil)
			b, err := Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			nnz := r.NonZero()
			payload := float64(gapBytes(r.Sparse[0].Index)+len(r.Sparse[0].Index)*map[Encoding]int{Float32: 4, Float16: 2}[enc]) / float64(nnz)
			file := float64(len(b)) / float64(nnz)
			t.Logf("density %.1f %%, %s: %d non-zeros, %.3f bytes each (%.3f with the file's header)", density*100, enc, nnz, payload, file)
			limit := map[Encoding]float64{Float32: 6, Float16: 4}[enc]
			if payload > limit || file > limit+0.1 {
				t.Errorf("density %g, %s: %.3f bytes per non-zero (%.3f for the file), want ≤ %g", density, enc, payload, file, limit)
			}
		}
	}
}

// fixCRC recomputes the trailer of a residual file whose body was edited.
func fixCRC(b []byte) []byte {
	body := b[:len(b)-trailerLen]
	binary.LittleEndian.PutUint32(b[len(body):], crc32.Checksum(body, castagnoli))
	return b
}

// TestReadBadInput checks that each damaged file fails with a message that
// names the file and the problem, and wraps the right sentinel.
func TestReadBadInput(t *testing.T) {
	tk := newTask(t, 9)
	good, err := Marshal(tk.p.Residual(Float32, DenseTensors(tk.head), nil))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	// The first sparse tensor is layer0.weight, shape (40,25): patch its
	// second dimension to 20, so its last indices fall out of range.
	name := []byte("layer0.weight")
	shapeAt := bytes.Index(good, name) + len(name)
	if !bytes.Equal(good[shapeAt:shapeAt+3], []byte{2, 40, 25}) {
		t.Fatalf("layer0.weight is not followed by its shape (2, 40, 25): % x", good[shapeAt:shapeAt+3])
	}
	tests := []struct {
		name   string
		data   []byte
		target error
		errHas string
	}{
		{"empty", nil, ErrFormat, "not a valid residual: empty file"},
		{"bad magic", edit(func(b []byte) []byte { copy(b, "PK\x03\x04"); return b }), ErrFormat, "bad magic"},
		{"header only", good[:20], ErrTruncated, "shorter than the 52-byte header"},
		{"truncated in the body", good[:len(good)/2], ErrTruncated, "the header says"},
		{"truncated checksum", good[:len(good)-1], ErrTruncated, "the header says"},
		{"data after the end", append(slices.Clone(good), 0), ErrFormat, "data after the end"},
		{"newer version", edit(func(b []byte) []byte { b[4] = 2; return fixCRC(b) }), ErrFormat, "version 2 (this build reads version 1)"},
		{"unknown flag", edit(func(b []byte) []byte { b[6] = 4; return fixCRC(b) }), ErrFormat, "unknown flags"},
		{"flipped bit", edit(func(b []byte) []byte { b[len(b)/2] ^= 8; return b }), ErrChecksum, "checksum mismatch"},
		{"index out of range", edit(func(b []byte) []byte { b[shapeAt+2] = 20; return fixCRC(b) }), ErrFormat, "out of range for shape (40,20)"},
		{"trailing body byte", edit(func(b []byte) []byte {
			b = append(b[:len(b)-trailerLen], 0, 0, 0, 0, 0)
			binary.LittleEndian.PutUint64(b[8:], uint64(len(b)))
			return fixCRC(b)
		}), ErrFormat, "1 bytes left after the last tensor"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".vlpr")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			if err == nil || !errors.Is(err, tt.target) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("ReadFile error %v; want one wrapping %v, naming %s, with %q", err, tt.target, path, tt.errHas)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := ReadFile(filepath.Join(dir, "none.vlpr")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v, want fs.ErrNotExist", err)
		}
	})
}

// TestMarshalRejects checks that inconsistent residuals are not written.
func TestMarshalRejects(t *testing.T) {
	ok := func() *Residual {
		return &Residual{Sparse: []Sparse{{Name: "a", Shape: []int{4}, Index: []int{1, 3}, Values: []float32{1, 2}}},
			Dense: []Tensor{{Name: "h", Shape: []int{2}, Values: []float32{1, 2}}}}
	}
	if _, err := Marshal(ok()); err != nil {
		t.Fatalf("valid residual: %v", err)
	}
	tests := []struct {
		name   string
		change func(r *Residual)
		errHas string
	}{
		{"index out of range", func(r *Residual) { r.Sparse[0].Index[1] = 4 }, "index 4 out of range"},
		{"indices not increasing", func(r *Residual) { r.Sparse[0].Index[1] = 1 }, "not increasing"},
		{"values do not match", func(r *Residual) { r.Sparse[0].Values = r.Sparse[0].Values[:1] }, "1 values for 2 indices"},
		{"dense shape", func(r *Residual) { r.Dense[0].Shape = []int{3} }, "2 values for shape (3)"},
		{"name twice", func(r *Residual) { r.Dense[0].Name = "a" }, `"a" listed twice`},
		{"float16 infinity", func(r *Residual) { r.Encoding = Float16; r.Sparse[0].Values[0] = float32(math.Inf(1)) }, "cannot be stored as float16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.change(r)
			if _, err := Marshal(r); err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Marshal error %v, want one with %q", err, tt.errHas)
			}
		})
	}
}

// TestWriteFileOverwrite checks that WriteFile never replaces a file
// unless asked to, and leaves no temporary files behind.
func TestWriteFileOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "task.vlpr")
	r1 := &Residual{Meta: map[string]string{"run": "1"}}
	r2 := &Residual{Meta: map[string]string{"run": "2"}}
	if err := WriteFile(path, r1, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, r2, false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("second write: %v, want fs.ErrExist naming %s", err, path)
	}
	if r, err := ReadFile(path); err != nil || r.Meta["run"] != "1" {
		t.Errorf("after the refused write: %v, %v; want run 1", r, err)
	}
	if err := WriteFile(path, r2, true); err != nil {
		t.Fatal(err)
	}
	if r, err := ReadFile(path); err != nil || r.Meta["run"] != "2" {
		t.Errorf("after overwriting: %v, %v; want run 2", r, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only task.vlpr", names)
	}
}

// TestMarshalDeterministic checks that equal residuals give equal bytes
// whatever the order of their tensors and metadata.
func TestMarshalDeterministic(t *testing.T) {
	tk := newTask(t, 11)
	r := tk.p.Residual(Float32, DenseTensors(tk.head), map[string]string{"b": "2", "a": "1", "c": "3"})
	a, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(r.Sparse)
	slices.Reverse(r.Dense)
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("reordering the tensors changed the bytes")
	}
}

// FuzzUnmarshal feeds damaged residual files to Unmarshal with their
// length field and checksum made valid again, so that the fuzzer reaches
// the parser behind them: nothing may panic, every failure must wrap ErrFormat or
// ErrTruncated, and whatever is accepted must marshal back to the same
// residual.
func FuzzUnmarshal(f *testing.F) {
	for _, enc := range []Encoding{Float32, Float16} {
		tk := newTask(f, 9)
		good, err := Marshal(tk.p.Residual(enc, DenseTensors(tk.head), map[string]string{"task": "A→W"}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= headerSize+trailerLen {
			data = slices.Clone(data)
			binary.LittleEndian.PutUint64(data[8:], uint64(len(data))) // the total length
			data = fixCRC(data)
		}
		r, err := Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v wraps neither ErrFormat nor ErrTruncated", err)
			}
			return
		}
		again, err := Marshal(r)
		if err != nil {
			t.Fatalf("accepted residual does not marshal: %v", err)
		}
		back, err := Unmarshal(again)
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip of an accepted residual: %v", err)
		}
	})
}

// TestUnmarshalFloat16Scale checks that a Float16 tensor is accepted only
// with the scale Marshal would write, so that every accepted file is
// written back byte for byte: the largest stored binary16 in
// [2¹⁴, 2¹⁵) (or every value zero with scale 0), and each value times
// 2^−e a float32.
func TestUnmarshalFloat16Scale(t *testing.T) {
	r := &Residual{Encoding: Float16, Sparse: []Sparse{{Name: "layer", Shape: []int{4}, Index: []int{1, 3}, Values: []float32{1, 0.5}}}}
	good, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// name, shape (1, 4), nnz 2, gaps 1 1, then the zig-zag varint of
	// e = 14 and the binary16 values 2¹⁴ and 2¹³.
	prefix := []byte("layer\x01\x04\x02\x01\x01")
	at := bytes.Index(good, prefix) + len(prefix)
	if want := []byte{28, 0x00, 0x74, 0x00, 0x70}; !bytes.Equal(good[at:at+5], want) {
		t.Fatalf("float16 tensor bytes % x, want % x", good[at:at+5], want)
	}
	tests := []struct {
		name   string
		body   []byte // e and the two binary16 values
		errHas string // "" if accepted
	}{
		{"as written", []byte{28, 0x00, 0x74, 0x00, 0x70}, ""},
		{"other scale, canonical values", []byte{30, 0x00, 0x74, 0x00, 0x70}, ""},
		{"largest below 2^14", []byte{26, 0x00, 0x70, 0x00, 0x6c}, "float16 scale 2^13 is not the one"},
		{"largest is 2^15", []byte{30, 0x00, 0x78, 0x00, 0x74}, "float16 scale 2^15 is not the one"},
		{"zeros with a scale", []byte{10, 0x00, 0x00, 0x00, 0x80}, "float16 scale 2^5 is not the one"},
		{"underflows float32", []byte{0x90, 0x03, 0x00, 0x74, 0x00, 0x70}, "is not a float32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := slices.Concat(good[:at], tt.body, good[at+5:])
			binary.LittleEndian.PutUint64(b[8:], uint64(len(b)))
			got, err := Unmarshal(fixCRC(b))
			if tt.errHas != "" {
				if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("Unmarshal error %v, want ErrFormat with %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			again, err := Marshal(got)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("written again: %v, same bytes %v", err, bytes.Equal(again, b))
			}
		})
	}
}
