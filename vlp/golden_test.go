package vlp

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// tiny returns the path of a file or folder of the tiny CLIP models made
// with the reference code, testdata/clip-tiny/elem...; see fixture.Path.
func tiny(t testing.TB, elem ...string) string {
	t.Helper()
	return fixture.Path(t, append([]string{"clip-tiny"}, elem...)...)
}

// readSafetensors reads a fixture file and fails the test, naming the file,
// when it is missing.
func readSafetensors(t *testing.T, path string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture %s: %v", path, err)
	}
	return f
}

func fixtureTensor(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	st := f.Tensor(name)
	if st == nil {
		t.Fatalf("fixture has no tensor %q", name)
	}
	return tensor.New(st.Float32(), st.Shape...)
}

// TestGoldenCLIP runs every fixture model from every weight file and compares
// features, logits and the per-block activations with PyTorch's outputs.
func TestGoldenCLIP(t *testing.T) {
	for _, model := range []string{"vit", "rn", "vit-fp16"} {
		dir := tiny(t, model)
		files := []string{"model.pt", "state_dict.pt", "model.safetensors"}
		if model == "vit-fp16" {
			files = []string{"model.pt"}
		}
		for _, file := range files {
			t.Run(model+"/"+file, func(t *testing.T) {
				checkGolden(t, dir, file)
			})
		}
	}
}

func checkGolden(t *testing.T, dir, file string) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, info, err := Load(filepath.Join(dir, file), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := readSafetensors(t, filepath.Join(dir, "inputs.safetensors"))
	out := readSafetensors(t, filepath.Join(dir, "outputs.safetensors"))
	images := fixtureTensor(t, in, "images")
	textT := fixtureTensor(t, in, "text")
	ids := make([][]int32, textT.Dim(0))
	for i := range ids {
		for _, v := range textT.Select(0, i).Values() {
			ids[i] = append(ids[i], int32(v))
		}
	}

	taps := map[string]*tensor.Tensor{}
	tap := func(prefix string) func(string, *tensor.Tensor) {
		return func(name string, x *tensor.Tensor) {
			taps[prefix+name] = x.Select(0, 0).Contiguous()
		}
	}
	m.Visual.SetTap(tap("debug.visual."))
	img := m.EncodeImage(images.Inference())
	m.Visual.SetTap(nil)
	txt, err := m.encodeText(ids, true, tap("debug.text."))
	if err != nil {
		t.Fatal(err)
	}
	logits := m.Logits(img, txt)
	// fp16-stored weights are widened exactly; the outputs were computed in
	// float32 from the same values, so one tolerance serves every file.
	const atol = 1e-4
	check := func(name string, got *tensor.Tensor, tol float64) {
		t.Helper()
		if err := tensortest.Close(got, fixtureTensor(t, out, name), tol, 0); err != nil {
			t.Errorf("%s (%s): %v", name, info.Format, err)
		}
	}
	check("image_features", img, atol)
	check("text_features", txt, atol)
	scale := math.Exp(float64(m.LogitScale.Item()))
	check("logits_per_image", logits, atol*scale)
	check("logits_per_text", logits.T(), atol*scale)

	nDebug := 0
	for _, st := range out.Tensors {
		name, ok := strings.CutSuffix(st.Name, ".img0")
		if !ok {
			name, ok = strings.CutSuffix(st.Name, ".txt0")
		}
		if !ok || !strings.HasPrefix(name, "debug.") {
			continue
		}
		got, ok := taps[name]
		if !ok {
			t.Errorf("no activation tapped for %s", st.Name)
			continue
		}
		check(st.Name, got, atol)
		nDebug++
	}
	// The fp16 fixture carries no activations; it checks the widening of
	// half-precision storages, which must all have been read as such.
	if strings.HasSuffix(dir, "vit-fp16") {
		if info.DTypes["F16"] != 35 {
			t.Errorf("read %d F16 tensors, want the fixture's 35", info.DTypes["F16"])
		}
	} else if nDebug == 0 {
		t.Errorf("outputs.safetensors has no debug activations")
	}
}
