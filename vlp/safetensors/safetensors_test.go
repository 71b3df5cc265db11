package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/tensor/dtype"
)

// fixturePath returns the path of a file of the tiny CLIP models in the
// repository's testdata folder; see fixture.Path.
func fixturePath(t testing.TB, elem ...string) string {
	t.Helper()
	return fixture.Path(t, append([]string{"clip-tiny"}, elem...)...)
}

// fixtureFiles are every safetensors file of the CLIP fixtures.
var fixtureFiles = []string{
	"vit/model.safetensors", "vit/inputs.safetensors", "vit/outputs.safetensors",
	"rn/model.safetensors", "rn/inputs.safetensors", "rn/outputs.safetensors",
	"vit-fp16/inputs.safetensors", "vit-fp16/outputs.safetensors",
}

// readFixture returns the bytes of a fixture file, failing with its path
// when it is missing.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	path := fixturePath(t, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture %s is missing or unreadable: %v", path, err)
	}
	return b
}

// TestFixtureTensors checks the model files against the tensor list of each
// fixture's config.json.
func TestFixtureTensors(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			var cfg struct {
				Tensors []struct {
					Name  string `json:"name"`
					Shape []int  `json:"shape"`
					DType string `json:"dtype"`
				} `json:"tensors"`
			}
			if err := json.Unmarshal(readFixture(t, model+"/config.json"), &cfg); err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(fixturePath(t, model, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Metadata["format"] != "pt" {
				t.Errorf("metadata %v, want format=pt", f.Metadata)
			}
			if len(f.Tensors) != len(cfg.Tensors) {
				t.Errorf("%d tensors, config.json lists %d", len(f.Tensors), len(cfg.Tensors))
			}
			want := map[string]dtype.DType{"float32": dtype.Float32, "int64": dtype.Int64}
			for _, c := range cfg.Tensors {
				got := f.Tensor(c.Name)
				if got == nil {
					t.Errorf("tensor %s missing", c.Name)
					continue
				}
				if !slices.Equal(got.Shape, c.Shape) || got.DType != want[c.DType] {
					t.Errorf("tensor %s: %v%v, want %s%v", c.Name, got.DType, got.Shape, c.DType, c.Shape)
				}
			}
		})
	}
}

// TestWriteReproducesFixtures rewrites every fixture file from its parsed
// tensors. The fixtures follow the same layout rules, so the data and the
// tensor entries of the header must be identical, and so must the whole
// file where the metadata has one key (the writer sorts metadata keys; two
// fixtures keep theirs in insertion order).
func TestWriteReproducesFixtures(t *testing.T) {
	for _, name := range fixtureFiles {
		t.Run(name, func(t *testing.T) {
			orig := readFixture(t, name)
			f, err := Parse(orig)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, f.Tensors, f.Metadata); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			gotHeader, gotData := splitFile(got)
			wantHeader, wantData := splitFile(orig)
			if !bytes.Equal(gotData, wantData) {
				t.Errorf("data sections differ (%d and %d bytes)", len(gotData), len(wantData))
			}
			if g, w := tensorEntries(gotHeader), tensorEntries(wantHeader); g != w {
				t.Errorf("tensor entries differ:\n got %.300s\nwant %.300s", g, w)
			}
			if len(f.Metadata) == 1 && !bytes.Equal(got, orig) {
				t.Errorf("rewritten file differs from the fixture")
			}
		})
	}
}

// splitFile returns the header and data of a well-formed file.
func splitFile(b []byte) (header, data []byte) {
	n := binary.LittleEndian.Uint64(b)
	return b[8 : 8+n], b[8+n:]
}

// tensorEntries returns the header's tensor entries, as written, in order.
func tensorEntries(header []byte) string {
	keys, values, err := splitObject(header)
	if err != nil {
		return "invalid header: " + err.Error()
	}
	var b strings.Builder
	for i, k := range keys {
		if k != metadataKey {
			b.WriteString(strconv.Quote(k) + ":" + string(values[i]) + ",")
		}
	}
	return b.String()
}

func TestFloat32(t *testing.T) {
	f, err := Parse(readFixture(t, "vit/outputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	eot := f.Tensor("text_eot_index")
	if eot == nil {
		t.Fatal("text_eot_index missing")
	}
	// Prompt 3 is empty (EOT at 1), prompt 5 is truncated (EOT at 76).
	if got := eot.Float32(); eot.DType != dtype.Int64 || got[3] != 1 || got[5] != 76 {
		t.Errorf("text_eot_index = %v %v, want I64 with [3]=1 and [5]=76", eot.DType, got)
	}
	src := []float32{1, -2.5, 3e-8}
	x := FromFloat32("x", []int{3}, src)
	if got := x.Float32(); !slices.Equal(got, src) {
		t.Errorf("FromFloat32 round trip = %v, want %v", got, src)
	}
}

// file assembles a safetensors file from a header string and data.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestParseErrors(t *testing.T) {
	data := make([]byte, 16)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated file: 0 bytes"},
		{"short", []byte{1, 2, 3}, "truncated file: 3 bytes"},
		{"header length too large", huge, "larger than the limit"},
		{"header past end", file(`{}`, nil)[:9], "exceeds the 1 bytes after it"},
		{"not an object", file(`[]`, nil), "want a JSON object"},
		{"bad JSON", file(`{"a":`, nil), "header"},
		{"data after object", file(`{} {}`, nil), "data after the JSON object"},
		{"duplicate key", file(`{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[],"data_offsets":[1,2]}}`, data), `duplicate key "a"`},
		{"unknown dtype", file(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, data), `tensor "a": dtype: unknown dtype "F8_E4M3"`},
		{"missing field", file(`{"a":{"dtype":"F32","shape":[1]}}`, data), `tensor "a": entry needs`},
		{"negative dimension", file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, data), "negative dimension"},
		{"offsets out of range", file(`{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}`, data), "out of range: the data holds 16 bytes"},
		{"begin after end", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, data), "out of range"},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, data), "want [begin, end]"},
		{"shape mismatch", file(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}`, data), "hold 16 bytes, but F32[2 3] needs 24"},
		{"shape overflow", file(`{"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,16]}}`, data), "too large"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data), `tensor "b": data [4, 12) overlaps tensor "a"`},
		{"bad metadata", file(`{"__metadata__":{"n":1}}`, nil), "__metadata__ must map strings to strings"},
		{"negative dimension at rank 100000", file(`{"a":{"dtype":"F32","shape":[`+strings.Repeat("1,", 99999)+`-1],"data_offsets":[0,4]}}`, data),
			"negative dimension in shape [1 1 1 1 1 1 … 1 -1] (rank 100000)"},
		{"mismatch at rank 100000", file(`{"a":{"dtype":"F32","shape":[`+strings.Repeat("1,", 99999)+`2],"data_offsets":[0,4]}}`, data),
			"but F32[1 1 1 1 1 1 … 1 2] (rank 100000) needs 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "safetensors: ") || len(err.Error()) > 300 {
				t.Errorf("error %.400q, want at most 300 bytes, starting with \"safetensors: \" and containing %q", err, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		count int
	}{
		{"no tensors", file(`{}`, nil), 0},
		{"empty tensor beside another", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}), 2},
		{"padding and gaps", file(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}   `, []byte{0, 0, 0, 9}), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tensors) != tt.count {
				t.Errorf("%d tensors, want %d", len(f.Tensors), tt.count)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	ok := FromFloat32("x", []int{2}, []float32{1, 2})
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"no name", []Tensor{{DType: dtype.Uint8, Data: []byte{1}}}, "has no name"},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: dtype.Uint8, Data: []byte{1}}}, "reserved"},
		{"duplicate", []Tensor{ok, ok}, `duplicate tensor name "x"`},
		{"invalid dtype", []Tensor{{Name: "y", Data: []byte{1}}}, "invalid dtype"},
		{"size mismatch", []Tensor{{Name: "y", DType: dtype.Float16, Shape: []int{3}, Data: []byte{1, 2}}}, "2 bytes of data, F16[3] needs 6"},
		{"negative", []Tensor{{Name: "y", DType: dtype.Uint8, Shape: []int{-1}}}, "negative dimension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the error", buf.Len())
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	first := []Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4})}
	second := []Tensor{FromFloat32("w", []int{1}, []float32{5}), {Name: "n<&>", DType: dtype.Int64, Shape: []int{}, Data: make([]byte, 8)}}
	meta := map[string]string{"format": "pt", "note": "ünïcode <&>"}

	if err := WriteFile(path, first, meta); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, second, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteFile over an existing file: error %v, want fs.ErrExist", err)
	}
	check := func(want []Tensor, wantMeta map[string]string) {
		t.Helper()
		f, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors) != len(want) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(want))
		}
		for _, w := range want {
			got := f.Tensor(w.Name)
			if got == nil || got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Data, w.Data) {
				t.Errorf("tensor %q = %+v, want %+v", w.Name, got, w)
			}
		}
		if len(f.Metadata) != len(wantMeta) {
			t.Errorf("metadata %v, want %v", f.Metadata, wantMeta)
		}
		for k, v := range wantMeta {
			if f.Metadata[k] != v {
				t.Errorf("metadata %q = %q, want %q", k, f.Metadata[k], v)
			}
		}
	}
	check(first, meta)
	if err := ReplaceFile(path, second, nil); err != nil {
		t.Fatal(err)
	}
	check(second, nil)
	if err := WriteFile(filepath.Join(dir, "bad.safetensors"), []Tensor{{Name: "z"}}, nil); err == nil {
		t.Error("WriteFile with an invalid tensor succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only the written file (no temporary files)", names)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.safetensors"), first, nil); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(file(`{}`, nil))
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 60, 0, 188}))
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(readFixture(f, "vit-fp16/outputs.safetensors"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must write and parse back to the same tensors.
		var buf bytes.Buffer
		if err := Write(&buf, parsed.Tensors, parsed.Metadata); err != nil {
			t.Fatalf("Write of parsed tensors: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of written file: %v", err)
		}
		if len(again.Tensors) != len(parsed.Tensors) {
			t.Fatalf("%d tensors after the round trip, want %d", len(again.Tensors), len(parsed.Tensors))
		}
		for _, p := range parsed.Tensors {
			a := again.Tensor(p.Name)
			if a == nil || a.DType != p.DType || !slices.Equal(a.Shape, p.Shape) || !bytes.Equal(a.Data, p.Data) {
				t.Fatalf("tensor %q changed in the round trip", p.Name)
			}
		}
	})
}
