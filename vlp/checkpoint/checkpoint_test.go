package checkpoint

import (
	"bufio"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/tensor/dtype"
)

var jitExtras = []string{"input_resolution", "context_length", "vocab_size"}

func open(t testing.TB, name string) *StateDict {
	t.Helper()
	s, err := Open(fixture.Path(t, "clip-tiny", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// values returns x's values, failing the test if they cannot be read.
func values(t testing.TB, x *Tensor) []float32 {
	t.Helper()
	v, err := x.Values()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

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

// equalDicts reports the first difference between two state dicts that
// should hold the same tensors, in any order.
func equalDicts(t *testing.T, got, want *StateDict) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for _, w := range want.Tensors {
		g := got.Get(w.Name)
		switch {
		case g == nil:
			t.Errorf("%s missing", w.Name)
		case !slices.Equal(g.Shape, w.Shape):
			t.Errorf("%s: shape %v, want %v", w.Name, g.Shape, w.Shape)
		case g.DType != w.DType:
			t.Errorf("%s: dtype %v, want %v", w.Name, g.DType, w.DType)
		case !sameBits(values(t, g), values(t, &w)):
			t.Errorf("%s: values differ", w.Name)
		}
	}
}

func TestOpenFixtures(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		t.Run(model, func(t *testing.T) {
			st := open(t, model+"/model.safetensors")
			sd := open(t, model+"/state_dict.pt")
			jit := open(t, model+"/model.pt")
			if st.Format != Safetensors || sd.Format != TorchStateDict || jit.Format != TorchScript {
				t.Errorf("formats %v, %v, %v; want safetensors, state dict, TorchScript", st.Format, sd.Format, jit.Format)
			}
			jit.Tensors = slices.DeleteFunc(jit.Tensors, func(t Tensor) bool { return slices.Contains(jitExtras, t.Name) })
			equalDicts(t, sd, st)
			equalDicts(t, jit, st)
			if !slices.Equal(sd.Names(), jit.Names()) {
				t.Error("state dict and TorchScript archive list the tensors in different orders")
			}
		})
	}
	half := open(t, "vit-fp16/model.pt")
	if half.Format != TorchScript || half.Get("visual.proj").DType != dtype.Float16 {
		t.Errorf("vit-fp16/model.pt: format %v, visual.proj %v; want TorchScript with F16", half.Format, half.Get("visual.proj").DType)
	}
}

// TestOpenErrors checks that files Open cannot read give errors naming the
// file and the problem. The format is found from content, so the names
// carry misleading extensions.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty.safetensors", nil, "unknown format"},
		{"text.pt", []byte("hello, world, this is text"), "unknown format"},
		{"legacy.pt", []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."), "PyTorch before 1.6"},
		{"bad-header.bin", append([]byte{255, 255, 0, 0, 0, 0, 0, 0}, "{}"...), "unknown format"},
		{"broken.safetensors.pt", append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, `{]`...), "safetensors: header"},
		{"broken-zip.safetensors", []byte("PK\x03\x04 truncated"), "not a zip archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and containing %q", err, p, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want a not-exist error", err)
	}
}

// TestNamesFollowReleasedModels compares the fixture names with the lists of
// ViT-B/32 and RN50 tensors, after replacing layer and block indices with #:
// the tiny models have fewer layers but the same naming scheme.
func TestNamesFollowReleasedModels(t *testing.T) {
	index := regexp.MustCompile(`(resblocks|layer[1-4])\.\d+\.`)
	pattern := func(name string) string { return index.ReplaceAllString(name, "$1.#.") }
	readList := func(t *testing.T, name string) map[string]bool {
		t.Helper()
		f, err := os.Open(fixture.Path(t, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		set := make(map[string]bool)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, _, _ := strings.Cut(line, " ")
			set[pattern(name)] = true
		}
		return set
	}
	tests := []struct{ fixture, list string }{
		{"vit/model.pt", "clip-tensors-vit-b-32.txt"},
		{"rn/model.pt", "clip-tensors-rn50.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			want := readList(t, tt.list)
			got := make(map[string]bool)
			for _, n := range open(t, tt.fixture).Names() {
				if !slices.Contains(jitExtras, n) {
					got[pattern(n)] = true
				}
			}
			for p := range got {
				if !want[p] {
					t.Errorf("%s: name pattern %q is not in %s", tt.fixture, p, tt.list)
				}
			}
			for p := range want {
				if !got[p] {
					t.Errorf("%s: name pattern %q of %s is missing", tt.fixture, p, tt.list)
				}
			}
		})
	}
}

func TestTrimPrefix(t *testing.T) {
	s := open(t, "vit/state_dict.pt")
	orig := s.Names()
	for i := range s.Tensors {
		s.Tensors[i].Name = "module." + s.Tensors[i].Name
	}
	n, err := s.TrimPrefix("module.")
	if err != nil || n != len(orig) || !slices.Equal(s.Names(), orig) {
		t.Errorf("TrimPrefix = %d, %v; names restored %v", n, err, slices.Equal(s.Names(), orig))
	}
	s.Tensors = append(s.Tensors, Tensor{Name: "x.logit_scale"})
	if _, err := s.TrimPrefix("x."); err == nil || !strings.Contains(err.Error(), `two tensors "logit_scale"`) {
		t.Errorf("colliding TrimPrefix: error %v", err)
	}
	if s.Tensors[len(s.Tensors)-1].Name != "x.logit_scale" {
		t.Error("failed TrimPrefix changed names")
	}
}

// toHF renames an OpenAI ViT state dict to HF CLIPModel names, the inverse
// of FromHF, written out from the HF side of the table.
func toHF(t *testing.T, s *StateDict) *StateDict {
	t.Helper()
	top := map[string]string{
		"token_embedding.weight":      "text_model.embeddings.token_embedding.weight",
		"positional_embedding":        "text_model.embeddings.position_embedding.weight",
		"ln_final.weight":             "text_model.final_layer_norm.weight",
		"ln_final.bias":               "text_model.final_layer_norm.bias",
		"visual.class_embedding":      "vision_model.embeddings.class_embedding",
		"visual.conv1.weight":         "vision_model.embeddings.patch_embedding.weight",
		"visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
		"visual.ln_pre.weight":        "vision_model.pre_layrnorm.weight",
		"visual.ln_pre.bias":          "vision_model.pre_layrnorm.bias",
		"visual.ln_post.weight":       "vision_model.post_layernorm.weight",
		"visual.ln_post.bias":         "vision_model.post_layernorm.bias",
		"logit_scale":                 "logit_scale",
	}
	layer := strings.NewReplacer(
		"visual.transformer.resblocks.", "vision_model.encoder.layers.",
		"transformer.resblocks.", "text_model.encoder.layers.",
		".ln_1.", ".layer_norm1.", ".ln_2.", ".layer_norm2.",
		".attn.out_proj.", ".self_attn.out_proj.",
		".mlp.c_fc.", ".mlp.fc1.", ".mlp.c_proj.", ".mlp.fc2.",
	)
	out := &StateDict{Format: s.Format}
	for _, x := range s.Tensors {
		v := values(t, &x)
		switch {
		case top[x.Name] != "":
			x.Name = top[x.Name]
			out.Tensors = append(out.Tensors, x)
		case x.Name == "text_projection" || x.Name == "visual.proj":
			r, c := x.Shape[0], x.Shape[1]
			data := make([]float32, len(v))
			for i := range r {
				for j := range c {
					data[j*r+i] = v[i*c+j]
				}
			}
			name := "text_projection.weight"
			if x.Name == "visual.proj" {
				name = "visual_projection.weight"
			}
			out.Tensors = append(out.Tensors, NewTensor(name, []int{c, r}, x.DType, data))
		case strings.Contains(x.Name, ".attn.in_proj_"):
			base := layer.Replace(strings.Split(x.Name, ".attn.")[0] + ".")
			kind := strings.TrimPrefix(x.Name[strings.LastIndex(x.Name, "."):], ".in_proj_")
			d := x.Shape[0] / 3
			shape := slices.Clone(x.Shape)
			shape[0] = d
			per := len(v) / 3
			for i, p := range []string{"q", "k", "v"} {
				out.Tensors = append(out.Tensors,
					NewTensor(base+"self_attn."+p+"_proj."+kind, shape, x.DType, v[i*per:(i+1)*per]))
			}
		default:
			x.Name = layer.Replace(x.Name)
			out.Tensors = append(out.Tensors, x)
		}
	}
	out.Tensors = append(out.Tensors,
		NewTensor("text_model.embeddings.position_ids", []int{1, 77}, dtype.Int64, make([]float32, 77)),
		NewTensor("vision_model.embeddings.position_ids", []int{1, 17}, dtype.Int64, make([]float32, 17)))
	// HF files list tensors in their own order; FromHF must not care.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(out.Tensors), func(i, j int) {
		out.Tensors[i], out.Tensors[j] = out.Tensors[j], out.Tensors[i]
	})
	return out
}

func TestFromHF(t *testing.T) {
	openai := open(t, "vit/model.safetensors")
	hf := toHF(t, openai)
	if !IsHF(hf) || IsHF(openai) {
		t.Fatalf("IsHF = %v for HF names and %v for OpenAI names", IsHF(hf), IsHF(openai))
	}
	if hf.Get("vision_model.encoder.layers.1.self_attn.k_proj.weight") == nil {
		t.Fatal("test conversion made no k_proj")
	}
	got, err := FromHF(hf)
	if err != nil {
		t.Fatal(err)
	}
	equalDicts(t, got, openai)
}

func TestFromHFErrors(t *testing.T) {
	w := func(name string, shape ...int) Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return NewTensor(name, shape, dtype.Float32, make([]float32, n))
	}
	const l0 = "text_model.encoder.layers.0.self_attn."
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"unknown name", []Tensor{w("text_model.pooler.weight", 2)}, `no OpenAI name for "text_model.pooler.weight"`},
		{"bad layer index", []Tensor{w("text_model.encoder.layers.x.mlp.fc1.bias", 2)}, "no OpenAI name"},
		{"missing v", []Tensor{w(l0+"q_proj.weight", 2, 2), w(l0+"k_proj.weight", 2, 2)}, "the v projection is missing"},
		{"shape mismatch", []Tensor{w(l0+"q_proj.bias", 2), w(l0+"k_proj.bias", 2), w(l0+"v_proj.bias", 3)}, "differ"},
		{"twice", []Tensor{w(l0+"q_proj.bias", 2), w(l0+"q_proj.bias", 2)}, "appears twice"},
		{"projection not a matrix", []Tensor{w("visual_projection.weight", 4)}, "want a matrix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromHF(&StateDict{Tensors: tt.tensors})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
