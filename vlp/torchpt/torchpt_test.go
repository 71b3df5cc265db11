package torchpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/internal/zipbomb"
	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// jitExtras are the 0-dim int64 entries that TorchScript CLIP archives hold
// beyond the model's state dict.
var jitExtras = []string{"input_resolution", "context_length", "vocab_size"}

// fixturePath returns the path of a file of the tiny CLIP models in the
// repository's testdata folder; see fixture.Path.
func fixturePath(t testing.TB, name string) string {
	t.Helper()
	return fixture.Path(t, "clip-tiny", name)
}

func readPT(t testing.TB, name string) *File {
	t.Helper()
	f, err := ReadFile(fixturePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func names(ts []Tensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func byName(ts []Tensor) map[string]*Tensor {
	m := make(map[string]*Tensor, len(ts))
	for i := range ts {
		m[ts[i].Name] = &ts[i]
	}
	return m
}

// sameBits reports whether two float32 slices are bit-identical.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestFixtureFormatsAgree loads each fixture model from its TorchScript
// archive, its torch.save state dict and its safetensors file: the names
// (minus the archive's three extra scalars) and orders must agree, and every
// value must be bit-identical.
func TestFixtureFormatsAgree(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			jit := readPT(t, model+"/model.pt")
			sd := readPT(t, model+"/state_dict.pt")
			st, err := safetensors.ReadFile(fixturePath(t, model+"/model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if jit.Format != TorchScript || sd.Format != StateDict {
				t.Errorf("formats %v and %v, want TorchScript and state dict", jit.Format, sd.Format)
			}

			var cfg struct {
				Tensors []struct {
					Name  string `json:"name"`
					Shape []int  `json:"shape"`
				} `json:"tensors"`
			}
			raw, err := os.ReadFile(fixturePath(t, model+"/config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, c := range cfg.Tensors {
				want = append(want, c.Name)
			}
			if got := names(sd.Tensors); !slices.Equal(got, want) {
				t.Errorf("state_dict.pt names differ from config.json's list:\n got %v\nwant %v", got, want)
			}
			jitNames := slices.DeleteFunc(names(jit.Tensors), func(n string) bool { return slices.Contains(jitExtras, n) })
			if !slices.Equal(jitNames, want) {
				t.Errorf("model.pt names (without %v) differ from config.json's list:\n got %v\nwant %v", jitExtras, jitNames, want)
			}
			if len(jit.Tensors) != len(want)+len(jitExtras) {
				t.Errorf("model.pt has %d tensors, want %d", len(jit.Tensors), len(want)+len(jitExtras))
			}

			jm := byName(jit.Tensors)
			for _, c := range cfg.Tensors {
				s := byName(sd.Tensors)[c.Name]
				j := jm[c.Name]
				st := st.Tensor(c.Name)
				if s == nil || j == nil || st == nil {
					t.Errorf("%s: missing (state dict %v, archive %v, safetensors %v)", c.Name, s != nil, j != nil, st != nil)
					continue
				}
				if !slices.Equal(s.Shape, c.Shape) || !slices.Equal(j.Shape, c.Shape) || !slices.Equal(st.Shape, c.Shape) {
					t.Errorf("%s: shapes %v, %v, %v; want %v", c.Name, s.Shape, j.Shape, st.Shape, c.Shape)
				}
				if s.DType != st.DType || j.DType != st.DType {
					t.Errorf("%s: dtypes %v, %v, %v differ", c.Name, s.DType, j.DType, st.DType)
				}
				if sv := st.Float32(); !sameBits(s.Data, sv) || !sameBits(j.Data, sv) {
					t.Errorf("%s: values differ between the three files", c.Name)
				}
			}
			for _, n := range jitExtras {
				if x := jm[n]; x == nil || x.DType != dtype.Int64 || len(x.Shape) != 0 || len(x.Data) != 1 {
					t.Errorf("%s: got %+v, want an int64 scalar", n, x)
				}
			}
			if x := jm["context_length"]; x != nil && x.Data[0] != 77 {
				t.Errorf("context_length = %v, want 77", x.Data[0])
			}
			if x := jm["vocab_size"]; x != nil && x.Data[0] != 49408 {
				t.Errorf("vocab_size = %v, want 49408", x.Data[0])
			}
		})
	}
}

// TestFP16Archive checks the half-precision archive against the float32
// model it was made from: the listed half tensors are stored as F16 and
// equal the float32 values rounded to half, the others are identical.
func TestFP16Archive(t *testing.T) {
	half := readPT(t, "vit-fp16/model.pt")
	full := byName(readPT(t, "vit/model.pt").Tensors)
	var cfg struct {
		Half  []string `json:"half_tensors"`
		Float []string `json:"float32_tensors"`
		Int   []string `json:"int64_tensors"`
	}
	raw, err := os.ReadFile(fixturePath(t, "vit-fp16/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Half) != 35 {
		t.Errorf("config lists %d half tensors, the README says 35", len(cfg.Half))
	}
	if n := len(cfg.Half) + len(cfg.Float) + len(cfg.Int); len(half.Tensors) != n {
		t.Errorf("archive has %d tensors, config lists %d", len(half.Tensors), n)
	}
	hm := byName(half.Tensors)
	check := func(name string, want dtype.DType, round bool) {
		h, f := hm[name], full[name]
		if h == nil || f == nil {
			t.Errorf("%s missing", name)
			return
		}
		if h.DType != want {
			t.Errorf("%s: dtype %v, want %v", name, h.DType, want)
		}
		exp := slices.Clone(f.Data)
		if round {
			for i, v := range exp {
				exp[i] = dtype.HalfToFloat32(dtype.Float32ToHalf(v))
			}
		}
		if !sameBits(h.Data, exp) {
			t.Errorf("%s: values differ from the float32 model (rounded to half: %v)", name, round)
		}
	}
	for _, n := range cfg.Half {
		check(n, dtype.Float16, true)
	}
	for _, n := range cfg.Float {
		check(n, dtype.Float32, false)
	}
	for _, n := range cfg.Int {
		check(n, dtype.Int64, false)
	}
}

// --- hand-made checkpoints ---

// pickler writes protocol-2 opcodes for test checkpoints.
type pickler struct{ bytes.Buffer }

func (p *pickler) op(b ...byte)       { p.Write(b) }
func (p *pickler) global(m, n string) { p.WriteString("c" + m + "\n" + n + "\n") }
func (p *pickler) str(s string) {
	p.op('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
}
func (p *pickler) int(v int) {
	p.op('J')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
}
func (p *pickler) tuple(vs ...int) {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	p.op('t')
}

// entry is one tensor of a hand-made state dict.
type entry struct {
	name, key, storage string
	numel, offset      int
	shape, strides     []int
	parameter          bool // wrap in _rebuild_parameter
}

// tensor emits _rebuild_tensor_v2 for e.
func (p *pickler) tensor(e entry) {
	if e.parameter {
		p.global("torch._utils", "_rebuild_parameter")
		p.op('(')
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op('(', '(')
	p.str("storage")
	p.global("torch", e.storage)
	p.str(e.key)
	p.str("cpu")
	p.int(e.numel)
	p.op('t', 'Q')
	p.int(e.offset)
	p.tuple(e.shape...)
	p.tuple(e.strides...)
	p.op(0x89) // requires_grad False
	p.global("collections", "OrderedDict")
	p.op(')', 'R', 't', 'R')
	if e.parameter {
		p.op(0x88) // requires_grad True
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R')
	}
}

// stateDictPickle returns a pickled OrderedDict of entries, nested under
// the key wrap when wrap is not empty.
func stateDictPickle(entries []entry, wrap string) []byte {
	var p pickler
	p.op(0x80, 2)
	if wrap != "" {
		p.op('}')
		p.str(wrap)
	}
	p.global("collections", "OrderedDict")
	p.op(')', 'R', '(')
	for _, e := range entries {
		p.str(e.name)
		p.tensor(e)
	}
	p.op('u')
	if wrap != "" {
		p.op('s')
	}
	p.op('.')
	return p.Bytes()
}

// zipFiles builds a stored (uncompressed) zip from name → content, in
// sorted name order.
func zipFiles(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, err := w.CreateHeader(&zip.FileHeader{Name: k, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[k])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

func TestHandMadeStateDicts(t *testing.T) {
	// Storage "0" holds 0..11 as float32; "1" holds 1.5, -2 as float16.
	var s0 []float32
	for i := range 12 {
		s0 = append(s0, float32(i))
	}
	storages := map[string][]byte{
		"archive/data/0":  f32bytes(s0...),
		"archive/data/1":  {0x00, 0x3e, 0x00, 0xc0},
		"archive/version": []byte("3\n"),
	}
	base := entry{key: "0", storage: "FloatStorage", numel: 12}
	with := func(name string, offset int, shape, strides []int) entry {
		e := base
		e.name, e.offset, e.shape, e.strides = name, offset, shape, strides
		return e
	}
	tests := []struct {
		name    string
		entries []entry
		wrap    string
		want    map[string][]float32
	}{
		{"contiguous", []entry{with("a", 0, []int{3, 4}, []int{4, 1})}, "",
			map[string][]float32{"a": s0}},
		{"offset view", []entry{with("row1", 4, []int{4}, []int{1})}, "",
			map[string][]float32{"row1": {4, 5, 6, 7}}},
		{"transposed", []entry{with("t", 0, []int{4, 3}, []int{1, 4})}, "",
			map[string][]float32{"t": {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}}},
		{"strided slice", []entry{with("s", 1, []int{2, 2}, []int{8, 2})}, "",
			map[string][]float32{"s": {1, 3, 9, 11}}},
		{"broadcast", []entry{with("b", 2, []int{2, 3}, []int{0, 1})}, "",
			map[string][]float32{"b": {2, 3, 4, 2, 3, 4}}},
		{"scalar and empty", []entry{with("x", 11, []int{}, []int{}), with("e", 0, []int{0, 5}, []int{5, 1})}, "",
			map[string][]float32{"x": {11}, "e": {}}},
		{"shared storage, module prefix kept", []entry{with("module.w", 0, []int{2}, []int{1}), with("module.v", 10, []int{2}, []int{1})}, "",
			map[string][]float32{"module.w": {0, 1}, "module.v": {10, 11}}},
		{"half storage", []entry{{name: "h", key: "1", storage: "HalfStorage", numel: 2, shape: []int{2}, strides: []int{1}}}, "",
			map[string][]float32{"h": {1.5, -2}}},
		{"nested under state_dict", []entry{with("w", 0, []int{1}, []int{1})}, "state_dict",
			map[string][]float32{"w": {0}}},
		{"nested under another key", []entry{with("w", 3, []int{1}, []int{1})}, "model",
			map[string][]float32{"model.w": {3}}},
		{"parameter", []entry{func() entry { e := with("p", 5, []int{1}, []int{1}); e.parameter = true; return e }()}, "",
			map[string][]float32{"p": {5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"archive/data.pkl": stateDictPickle(tt.entries, tt.wrap)}
			for k, v := range storages {
				files[k] = v
			}
			f, err := readBytes(zipFiles(t, files))
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != StateDict || len(f.Tensors) != len(tt.want) {
				t.Fatalf("format %v with tensors %v, want a state dict of %d", f.Format, names(f.Tensors), len(tt.want))
			}
			for _, got := range f.Tensors {
				want, ok := tt.want[got.Name]
				if !ok {
					t.Errorf("unexpected tensor %q", got.Name)
					continue
				}
				if !slices.Equal(got.Data, want) {
					t.Errorf("%s = %v, want %v", got.Name, got.Data, want)
				}
			}
		})
	}
}

// rezip rebuilds a fixture archive with edit applied to its entries.
func rezip(t *testing.T, name string, edit func(files map[string][]byte)) []byte {
	t.Helper()
	z, err := zip.OpenReader(fixturePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	files := make(map[string][]byte)
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	edit(files)
	return zipFiles(t, files)
}

func TestBadInputs(t *testing.T) {
	good, err := os.ReadFile(fixturePath(t, "vit/state_dict.pt"))
	if err != nil {
		t.Fatal(err)
	}
	const pkl = "state_dict/data.pkl"
	tests := []struct {
		name string
		data func() []byte
		want string
		is   error
	}{
		{"truncated zip", func() []byte { return good[:len(good)/2] }, "not a zip archive", nil},
		{"not a zip", func() []byte { return []byte("\x80\x02}q\x00.") }, "not a zip archive", nil},
		{"no data.pkl", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) { delete(f, pkl) })
		}, "no data.pkl", nil},
		{"truncated pickle", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) { f[pkl] = f[pkl][:len(f[pkl])/2] })
		}, "state_dict/data.pkl: pickle: offset", nil},
		{"corrupt pickle", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) { f[pkl] = append([]byte{0x80, 2, 0xff}, f[pkl][2:]...) })
		}, "unsupported opcode 0xff", nil},
		{"unknown global", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) {
				f[pkl] = bytes.Replace(f[pkl], []byte("ctorch._utils\n_rebuild_tensor_v2\n"), []byte("cposix\nsystem\n"), 1)
			})
		}, "global posix.system: not allowed", nil},
		{"unknown storage type", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) {
				f[pkl] = bytes.Replace(f[pkl], []byte("ctorch\nFloatStorage\n"), []byte("ctorch\nComplexFloatStorage\n"), 1)
			})
		}, "global torch.ComplexFloatStorage: not allowed", nil},
		{"missing storage", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) { delete(f, "state_dict/data/0") })
		}, `tensor positional_embedding: storage "0": archive has no entry state_dict/data/0`, nil},
		{"short storage", func() []byte {
			return rezip(t, "vit/state_dict.pt", func(f map[string][]byte) { f["state_dict/data/1"] = f["state_dict/data/1"][:100] })
		}, `storage "1": state_dict/data/1 holds 100 bytes, want 4096`, nil},
		{"corrupt storage data", func() []byte {
			b := slices.Clone(good)
			// Flip a byte inside the first storage's data: the CRC check catches it.
			i := bytes.Index(b, []byte("state_dict/data/0")) + len("state_dict/data/0") + 100
			b[i] ^= 0xff
			return b
		}, "checksum", zip.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readBytes(tt.data())
			if err == nil {
				t.Fatalf("Read succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// TestEntryLimits reads archives whose data.pkl or storage inflates to far
// more than a real checkpoint's, or to more than it declares: each must be
// refused quickly, with an error naming the entry, before it is inflated.
func TestEntryLimits(t *testing.T) {
	const gib = 1 << 30
	storage := func(numel int) []byte {
		e := entry{name: "w", key: "0", storage: "FloatStorage", numel: numel, shape: []int{numel}, strides: []int{1}}
		return stateDictPickle([]entry{e}, "")
	}
	tests := []struct {
		name    string
		entries []zipbomb.Entry
		want    string
	}{
		{"data.pkl of 10 GiB", []zipbomb.Entry{
			{Name: "a/data.pkl", Zeros: 10 * gib},
		}, "a/data.pkl: entry of 10737418240 bytes"},
		{"data.pkl declaring 10 GiB", []zipbomb.Entry{
			{Name: "a/data.pkl", Zeros: 1 << 20, Declared: 10 * gib},
		}, "a/data.pkl: entry of 10737418240 bytes"},
		{"data.pkl inflating past what it declares", []zipbomb.Entry{
			{Name: "a/data.pkl", Zeros: 64 << 20, Declared: 100},
		}, "a/data.pkl: entry of 100 bytes"},
		{"stored data.pkl over the limit", []zipbomb.Entry{
			{Name: "a/data.pkl", Data: make([]byte, MaxPickleSize+1)},
		}, "larger than the limit of 8388608"},
		{"storage of 512 MiB", []zipbomb.Entry{
			{Name: "a/data.pkl", Data: storage(1 << 27)},
			{Name: "a/data/0", Zeros: 512 << 20},
		}, "a/data/0: entry of 536870912 bytes"},
		{"storage inflating past what it declares", []zipbomb.Entry{
			{Name: "a/data.pkl", Data: storage(4)},
			{Name: "a/data/0", Zeros: 64 << 20, Declared: 16},
		}, "a/data/0: entry of 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := zipbomb.Archive(tt.entries...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = readBytes(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusal took %v", d)
			}
		})
	}
}

// TestExpandedViewsShareALimit reads views that each expand a small
// storage within the limit but together exceed it.
func TestExpandedViewsShareALimit(t *testing.T) {
	defer func(n int) { maxExpanded = n }(maxExpanded)
	maxExpanded = 1000
	half := maxExpanded/2 + 1
	var es []entry
	for _, name := range []string{"a", "b"} {
		es = append(es, entry{name: name, key: "0", storage: "FloatStorage", numel: 1, shape: []int{half}, strides: []int{0}})
	}
	b := zipFiles(t, map[string][]byte{"a/data.pkl": stateDictPickle(es, ""), "a/data/0": f32bytes(1)})
	_, err := readBytes(b)
	if err == nil || !strings.Contains(err.Error(), "tensor b: view of") {
		t.Errorf("error %v, want one refusing to expand tensor b", err)
	}
}

func TestOutOfRangeViews(t *testing.T) {
	tests := []struct {
		name string
		e    entry
		want string
	}{
		{"offset past end", entry{offset: 4, shape: []int{1}, strides: []int{1}}, "reach past the 4 elements"},
		{"stride past end", entry{shape: []int{2, 2}, strides: []int{3, 1}}, "reach past the 4 elements"},
		{"huge stride", entry{shape: []int{3}, strides: []int{1 << 30}}, "reach past"},
		{"size and stride lengths", entry{shape: []int{2}, strides: []int{1, 1}}, "differ in length"},
		{"negative size", entry{shape: []int{-1}, strides: []int{1}}, "bad size"},
		{"huge broadcast", entry{shape: []int{maxExpanded/1024 + 1, 1024}, strides: []int{0, 0}}, "too large to expand"},
		{"huger broadcast", entry{shape: []int{maxElements/1024 + 1, 1024}, strides: []int{0, 0}}, "too many elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.name, e.key, e.storage, e.numel = "x", "0", "FloatStorage", 4
			b := zipFiles(t, map[string][]byte{
				"a/data.pkl": stateDictPickle([]entry{e}, ""),
				"a/data/0":   f32bytes(1, 2, 3, 4),
			})
			_, err := readBytes(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestErrorsStayReadable feeds damaged archives whose errors once printed
// Go pointers (a dict inside a persistent id) or every dimension of a
// rank-100000 shape, and checks that the errors say what is wrong in a
// line, with no pointer.
func TestErrorsStayReadable(t *testing.T) {
	ones := func(n int) []int { return slices.Repeat([]int{1}, n) }
	var dictPID pickler
	dictPID.op(0x80, 2, '(')
	dictPID.str("storage")
	dictPID.op('}', 't', 'Q', '.')
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"dict in a persistent id", dictPID.Bytes(), `persistent id ("storage", dict of 0) is not`},
		{"rank 100000 sizes", stateDictPickle([]entry{{name: "x", key: "0", storage: "FloatStorage", numel: 4,
			shape: ones(100000), strides: []int{1}}}, ""), "size [1 1 1 1 1 1 … 1 1] (rank 100000) and stride [1] differ in length"},
		{"negative size at rank 100000", stateDictPickle([]entry{{name: "x", key: "0", storage: "FloatStorage", numel: 4,
			shape: append(ones(99999), -1), strides: ones(100000)}}, ""), "bad size (1, 1, 1, 1, 1, 1, 1, 1, … (100000 items))"},
	}
	pointer := regexp.MustCompile(`0x[0-9a-f]{6,}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readBytes(zipFiles(t, map[string][]byte{"a/data.pkl": tt.pkl, "a/data/0": f32bytes(1, 2, 3, 4)}))
			if err == nil {
				t.Fatalf("Read succeeded, want an error containing %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || pointer.MatchString(msg) || len(msg) > 300 {
				t.Errorf("error %.400q (%d bytes), want one of at most 300 bytes containing %q and no pointer", msg, len(msg), tt.want)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing.pt"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want os.ErrNotExist", err)
	}
	p := filepath.Join(t.TempDir(), "junk.pt")
	os.WriteFile(p, []byte("junk"), 0o644)
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v, want one naming %s", err, p)
	}
}

// FuzzRead feeds Read archives whose data.pkl and storage bytes are
// arbitrary: it must return a checkpoint whose tensors hold as many values
// as their shapes say, or an error, and never panic or allocate without
// bound.
func FuzzRead(f *testing.F) {
	storage := f32bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	base := entry{key: "0", storage: "FloatStorage", numel: 12}
	seed := func(offset int, shape, strides []int, wrap string) {
		e := base
		e.name, e.offset, e.shape, e.strides = "w", offset, shape, strides
		f.Add(stateDictPickle([]entry{e}, wrap), storage)
	}
	seed(0, []int{3, 4}, []int{4, 1}, "")
	seed(1, []int{2, 2}, []int{8, 2}, "state_dict")
	seed(2, []int{2, 3}, []int{0, 1}, "")
	seed(11, []int{}, []int{}, "model")
	h := entry{name: "h", key: "0", storage: "HalfStorage", numel: 2, shape: []int{2}, strides: []int{1}, parameter: true}
	f.Add(stateDictPickle([]entry{h}, ""), []byte{0x00, 0x3e, 0x00, 0xc0})
	f.Fuzz(func(t *testing.T, pkl, storage []byte) {
		archive := zipFiles(t, map[string][]byte{
			"archive/data.pkl": pkl,
			"archive/data/0":   storage,
			"archive/version":  []byte("3\n"),
		})
		file, err := readBytes(archive)
		if err != nil {
			return
		}
		for _, ts := range file.Tensors {
			n := 1
			for _, d := range ts.Shape {
				n *= d
			}
			if len(ts.Data) != n {
				t.Fatalf("%s: shape %v with %d values", ts.Name, ts.Shape, len(ts.Data))
			}
		}
	})
}

// FuzzReadEntry feeds readEntry one zip entry whose method, declared size
// and raw bytes are arbitrary: it must return exactly the declared bytes,
// within the limits, or an error, and never panic or allocate past the
// limits.
func FuzzReadEntry(f *testing.F) {
	zeros, err := zipbomb.Archive(zipbomb.Entry{Name: "z", Zeros: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(zeros), int64(len(zeros)))
	if err != nil {
		f.Fatal(err)
	}
	rc, err := z.File[0].OpenRaw()
	if err != nil {
		f.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, uint64(5), []byte("hello"))
	f.Add(true, uint64(1<<20), raw)
	f.Add(true, uint64(10), raw)
	f.Add(true, uint64(1<<40), raw)
	f.Fuzz(func(t *testing.T, deflate bool, declared uint64, raw []byte) {
		h := &zip.FileHeader{Name: "a/data.pkl", Method: zip.Store, CRC32: crc32.ChecksumIEEE(raw),
			CompressedSize64: uint64(len(raw)), UncompressedSize64: declared}
		if deflate {
			h.Method = zip.Deflate
		}
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		fw, err := w.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(raw)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			return
		}
		b, err := readEntry(z.File[0], MaxPickleSize)
		if err != nil {
			return
		}
		if uint64(len(b)) != declared || declared > MaxPickleSize || declared > max(uint64(len(raw)), 4<<10)*MaxInflation {
			t.Fatalf("read %d bytes of an entry declaring %d with %d compressed", len(b), declared, len(raw))
		}
	})
}

// TestOpenReadsNoStorage opens an archive whose storage is damaged: Open
// must succeed, since it reads only data.pkl, and reading the tensor must
// fail on the CRC; the undamaged tensor before it reads as ReadFile has it.
func TestOpenReadsNoStorage(t *testing.T) {
	good, err := os.ReadFile(fixturePath(t, "vit/state_dict.pt"))
	if err != nil {
		t.Fatal(err)
	}
	b := slices.Clone(good)
	i := bytes.Index(b, []byte("state_dict/data/1")) + len("state_dict/data/1") + 100
	b[i] ^= 0xff
	a, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open read a storage: %v", err)
	}
	want := byName(readPT(t, "vit/state_dict.pt").Tensors)
	damaged := 0
	for i, ts := range a.Tensors {
		dst := make([]float32, len(want[ts.Name].Data))
		err := a.ReadFloat32(i, dst)
		switch {
		case a.refs[i].st.key == "1":
			damaged++
			if !errors.Is(err, zip.ErrChecksum) {
				t.Errorf("%s, of the damaged storage: error %v, want a checksum error", ts.Name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", ts.Name, err)
		case !sameBits(dst, want[ts.Name].Data):
			t.Errorf("%s: values differ from ReadFile's", ts.Name)
		}
	}
	if damaged == 0 {
		t.Error("no tensor reads storage 1")
	}
}
